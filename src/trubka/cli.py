"""The ``trubka`` command.

Trubka's own subcommands (``serve``, …) live in COMMANDS; anything else is handed to Django's
management commands, with dashes read as underscores (``trubka demo-data`` runs
``demo_data``), so ``trubka migrate`` or ``trubka createsuperuser`` work too.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(
    name: str, help_text: str
) -> Callable[[Callable[[argparse.ArgumentParser], None]], Callable[[argparse.ArgumentParser], None]]:
    """Register ``trubka NAME``: the decorated function adds its arguments; ``run_NAME`` runs."""

    def register(
        add_arguments: Callable[[argparse.ArgumentParser], None],
    ) -> Callable[[argparse.ArgumentParser], None]:
        handler = globals()[f"run_{name.replace('-', '_')}"]
        COMMANDS[name] = (help_text, add_arguments, handler)
        return add_arguments

    return register


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trubka.settings")
    import django

    django.setup()


def run_serve(args: argparse.Namespace) -> int:
    _setup_django()
    import uvicorn
    from django.core.management import call_command

    from trubka.staff.bootstrap import ensure_admin

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    admin, generated_password = ensure_admin()
    if admin is not None:
        print(f"Created the administrator «{admin.username}».")
        if generated_password:
            print(f"Its password, shown only this once: {generated_password}")
    print(f"Trubka is serving on http://{args.host}:{args.port}/")
    uvicorn.run(
        "trubka.asgi:application",
        host=args.host,
        port=args.port,
        lifespan="off",
        log_level="info" if args.verbose else "warning",
    )
    return 0


@command("serve", "migrate, then serve the whole of Trubka in one process (embedded default)")
def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=os.environ.get("TRUBKA_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("TRUBKA_PORT", "8000")))
    parser.add_argument("--verbose", action="store_true", help="log every request")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trubka",
        description="Trubka help desk. Other commands are Django's: trubka help lists them.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_arguments, _handler) in COMMANDS.items():
        add_arguments(subparsers.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in COMMANDS:
        args = build_parser().parse_args(args_list)
        return COMMANDS[args.command][2](args)
    if not args_list or args_list[0] in {"-h", "--help"}:
        build_parser().print_help()
        print("\nAlso: any Django management command, e.g. trubka migrate, trubka demo-data.")
        return 0
    _setup_django()
    from django.core.management import execute_from_command_line

    name = args_list[0].replace("-", "_")
    execute_from_command_line(["trubka", name, *args_list[1:]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
