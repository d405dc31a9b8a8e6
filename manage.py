#!/usr/bin/env python
import importlib
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    from config.env import ConfigError

    # A bad environment value is one line per variable and exit 2, not a traceback (config/env.py).
    try:
        importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
    except ConfigError as exc:
        sys.stderr.write("".join(f"configuration error: {line}\n" for line in exc.lines))
        sys.exit(2)

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
