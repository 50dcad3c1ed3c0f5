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

from trubka.env import ConfigurationError, env_bool, env_int, env_str

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


AddArguments = Callable[[argparse.ArgumentParser], None]


def command(name: str, help_text: str) -> Callable[[AddArguments], AddArguments]:
    """Register ``trubka NAME``: the decorated function adds its arguments; ``run_NAME`` runs."""

    def register(add_arguments: AddArguments) -> AddArguments:
        handler = globals()[f"run_{name.replace('-', '_')}"]
        COMMANDS[name] = (help_text, add_arguments, handler)
        return add_arguments

    return register


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trubka.settings")
    import django

    django.setup()


def _access_log(verbose: bool) -> bool:
    """``--verbose`` turns the access log on (read by the settings, in every web process)."""
    if verbose:
        os.environ["TRUBKA_ACCESS_LOG"] = "true"
    return verbose or env_bool("TRUBKA_ACCESS_LOG", False)


def run_serve(args: argparse.Namespace) -> int:
    access_log = _access_log(args.verbose)
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
    run_worker_thread()
    run_purge_thread()
    print(f"Trubka is serving on http://{args.host}:{args.port}/")
    uvicorn.run(
        "trubka.asgi:application",
        host=args.host,
        port=args.port,
        lifespan="off",
        # Django's LOGGING (with secret redaction) stays in charge of uvicorn's loggers.
        log_config=None,
        access_log=access_log,
    )
    return 0


@command("serve", "migrate, then serve the whole of Trubka in one process (embedded default)")
def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=env_str("TRUBKA_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=env_int("TRUBKA_PORT", 8000, minimum=1, maximum=65535)
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")


def run_web(args: argparse.Namespace) -> int:
    access_log = _access_log(args.verbose)
    _setup_django()
    import uvicorn
    from django.core.management import call_command

    if args.collectstatic:
        call_command("collectstatic", interactive=False, verbosity=0)
    uvicorn.run(
        "trubka.asgi:application",
        host=args.host,
        port=args.port,
        workers=args.processes,
        lifespan="off",
        log_config=None,
        access_log=access_log,
        # Behind a load balancer: trust its X-Forwarded-* headers only when told to.
        proxy_headers=bool(args.forwarded_allow_ips),
        forwarded_allow_ips=args.forwarded_allow_ips or None,
    )
    return 0


@command("web", "serve the web app only (scale-out: run migrations and workers separately)")
def _web_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=env_str("TRUBKA_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=env_int("TRUBKA_PORT", 8000, minimum=1, maximum=65535)
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=env_int("TRUBKA_WEB_PROCESSES", 1, minimum=1, maximum=64),
        help="web processes (live popups across them need REDIS_URL)",
    )
    parser.add_argument(
        "--collectstatic", action="store_true", help="collect static files before serving"
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        default="",
        help="addresses of the load balancers whose X-Forwarded-* headers to trust",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")


def run_simulate(args: argparse.Namespace) -> int:
    from trubka.connector.providers.uis.simulate import run

    failures = run(
        args.url,
        args.scenario,
        app_id=args.app_id,
        phone=args.phone,
        extension=args.extension,
        zone=args.timezone,
        not_answered=args.not_answered,
    )
    return 1 if failures else 0


@command("simulate", "send realistic UIS notifications to a running Trubka")
def _simulate_arguments(parser: argparse.ArgumentParser) -> None:
    from trubka.connector.providers.uis.simulate import SCENARIOS

    parser.add_argument(
        "--url",
        required=True,
        help="the notification URL from the setup page, e.g. http://127.0.0.1:8000/okdesk/webhook/…/",
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="answered")
    parser.add_argument("--app-id", type=int, default=1, help="the UIS account id to send")
    parser.add_argument("--phone", help="the client's number (random when not given)")
    parser.add_argument("--extension", default="101", help="the ringing employee's extension")
    parser.add_argument("--timezone", default="Europe/Moscow", help="the UIS account's zone")
    parser.add_argument(
        "--not-answered",
        nargs="*",
        default=["Иванов Иван", "Петрова Мария"],
        help="names in a lost call's noanswered_employee_full_names",
    )


def run_worker_thread() -> None:
    """Start the notification worker inside this process (the embedded default)."""
    from django.conf import settings

    from trubka.connector.queue.worker import Worker

    if settings.TRUBKA_EMBEDDED_WORKER:
        Worker().start_thread()


def run_purge_thread() -> None:
    """Purge old notifications and live notices now and every hour (``trubka purge``)."""
    from trubka.ops.retention import Purger

    Purger().start_thread()


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
    try:
        return _dispatch(list(sys.argv[1:] if argv is None else argv))
    except ConfigurationError as exc:
        print(f"trubka: configuration error: {exc}", file=sys.stderr)
        return 2


def _dispatch(args_list: list[str]) -> int:
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
