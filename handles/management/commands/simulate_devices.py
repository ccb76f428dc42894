from __future__ import annotations

import re
import signal
import threading
from argparse import ArgumentParser
from dataclasses import replace
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from contract.errors import DomainError
from handles import services
from handles.addresses import handle_normalize
from handles.models import Handle
from handles.simulator import Behaviour, SimulatedDevice


class Command(BaseCommand):
    help = (
        "Run one simulated device agent per handle over HTTP against a running server. Each "
        "handle gets a fresh simulated device (replacing its previous one). SIGUSR1 takes "
        "every simulated device offline, SIGUSR2 brings them back."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--poll-url",
            default=None,
            help="Where the long-polls go (the Procfile's agents process). Default: --base-url.",
        )
        parser.add_argument(
            "--report-linger",
            type=float,
            default=0.0,
            help="Seconds a result or receipt may wait to share its call with others.",
        )
        parser.add_argument(
            "--handle",
            action="append",
            dest="handles",
            default=[],
            help="A handle to run (repeatable). Default: every handle with a simulated device.",
        )
        parser.add_argument("--send-delay", type=float, default=0.2)
        parser.add_argument("--receipt-delay", type=float, default=0.5)
        parser.add_argument("--not-registered", default=r"0000$", help="regex of recipients")
        parser.add_argument("--failing", default=r"9999$", help="regex of recipients")
        parser.add_argument("--whatsapp", action="store_true", help="report a WhatsApp session")

    def _handles(self, names: list[str]) -> list[Handle]:
        if not names:
            return list(
                Handle.objects.filter(devices__simulated=True, devices__revoked_at__isnull=True)
                .distinct()
                .order_by("address")
            )
        handles = []
        for name in names:
            try:
                address = handle_normalize(name)
            except DomainError as exc:
                raise CommandError(exc.message) from exc
            handle = Handle.objects.filter(address=address).first()
            if handle is None:
                raise CommandError(f"No handle {address}.")
            handles.append(handle)
        return handles

    def handle(self, *args: Any, **options: Any) -> None:
        handles = self._handles(options["handles"])
        if not handles:
            raise CommandError("No handles to simulate: name some with --handle.")
        behaviour = Behaviour(
            send_delay=options["send_delay"],
            receipt_delay=options["receipt_delay"],
            not_registered=re.compile(options["not_registered"]),
            failing=re.compile(options["failing"]),
            report_linger=options["report_linger"],
        )
        devices = []
        for handle in handles:
            issued = services.device_attach(handle=handle, name="simulator", simulated=True)
            devices.append(
                SimulatedDevice(
                    base_url=options["base_url"],
                    poll_url=options["poll_url"],
                    token=issued.token,
                    handle=handle.address,
                    behaviour=replace(
                        behaviour,
                        channels=tuple(handle.channels),
                        whatsapp_connected=options["whatsapp"] and "whatsapp" in handle.channels,
                    ),
                ).start()
            )
            self.stdout.write(f"simulating {handle.address} as {issued.device.id}")
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())

        def offline(*_: object) -> None:
            for device in devices:
                device.go_offline()

        def online(*_: object) -> None:
            for device in devices:
                device.come_online()

        signal.signal(signal.SIGUSR1, offline)
        signal.signal(signal.SIGUSR2, online)
        stop.wait()
        for device in devices:
            device.stop()
