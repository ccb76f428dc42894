"""The embedded mode's broker: kombu's file transport, with each message written whole.

kombu's `filesystem://` transport creates a message's file and then writes into it; a worker
polling the folder in between takes the empty file and dies of `JSONDecodeError`
(celery/kombu#1551). With `make run`'s two workers polling one folder this happened within
minutes. Here a message is written under a name no consumer picks up and renamed into place,
so a consumer sees either no file or the whole message. Everything else is kombu's.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu calls it with keyword arguments too (priority); its stubs say it takes none.
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Put `payload` onto `queue`: written as `….msg.part`, then renamed (atomic)."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # `_get` takes files named `<stamp>_<uuid>.<queue>.msg` only: never this one.
        partial = f"{final}.part"
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
