from .cli import main

if __name__ == "__main__":  # guarded: build workers started with "spawn" import this module again
    main(prog_name="inspector")
