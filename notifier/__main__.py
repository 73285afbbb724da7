"""``python -m notifier``: deliver fleet.alerts to the recipients' webhooks and email.

Settings: NOTIFIER_* environment variables (docs/configuration.md); Kafka from the stack
settings (env, then var/stack.env). Stops cleanly on SIGINT / SIGTERM (a second one kills).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType

from notifier.config import NotifierSettings, repo_path
from notifier.recipients import RecipientsError, load_recipients, resolve
from notifier.service import build_channels, open_service
from settings.errors import ConfigError, load_settings, run_main
from settings.logs import configure_logging
from settings.stack import load_stack_settings


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m notifier", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Recipients file format, retries and dedupe: docs/notifications.md")
    ap.add_argument("--check", action="store_true", help="validate settings and the recipients file, then exit")
    ap.add_argument("--explain", metavar="ALERT_JSON", help="print who would receive this alert (JSON), then exit")
    return ap


def _install_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging()
    settings = load_settings(NotifierSettings)
    try:
        if args.check or args.explain:
            recipients = load_recipients(repo_path(settings.recipients_file))
            build_channels(settings, recipients)
            if args.explain:
                for d in resolve(recipients, json.loads(args.explain)):
                    print(f"{d.channel}\t{d.target}\t{','.join(d.recipients)}")
            else:
                print(f"ok: {len(recipients.recipients)} recipients, {len(recipients.vehicles)} vehicles, "
                      f"{len(recipients.fleets)} fleets, {len(recipients.all)} for all alerts")
            return 0
        service, delivery_log = open_service(settings, load_stack_settings().kafka_config())
    except RecipientsError as exc:
        raise ConfigError(f"configuration error: {exc}") from None
    stop = threading.Event()
    _install_signals(stop)
    try:
        service.run(stop)
    finally:
        delivery_log.close()
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
