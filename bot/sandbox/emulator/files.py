"""Files: getFile, the download URL, and reading the file a sendPhoto/sendDocument carries."""

from __future__ import annotations

import mimetypes
import re
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.sandbox.emulator.params import Params, Upload, bot_api
from bot.sandbox.emulator.state import EmulatorState
from bot.sandbox.emulator.types import APIError, MessageKind, StoredFile, drop_none

TOKEN_RE = re.compile(r"(\d+):(\S+)")


class Files(EmulatorState):
    """Files the bot sends and fetches back."""

    @bot_api("getFile")
    async def _get_file(self, p: Params) -> Any:
        stored = self._files.get(p.get_str("file_id") or "")
        if stored is None:
            raise APIError(400, "Bad Request: invalid file_id")
        return drop_none(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.file_size,
                "file_path": stored.file_path,
            }
        )

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """GET /file/bot<token>/<file_path>: the content of a file getFile described."""
        if TOKEN_RE.fullmatch(request.match_info["token"]) is None:
            return self._error(401, "Unauthorized")
        stored = self._files.at_path(request.match_info["file_path"])
        if stored is None or stored.data is None:
            return self._error(404, "Not Found")
        ctype = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=ctype)

    def _input_file(self, p: Params, name: str, kind: MessageKind) -> StoredFile:
        """The file in parameter `name`: an upload, a known file_id or a URL."""
        value = p.values.get(name)
        upload: Upload | None = None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = p.files.get(value[len("attach://") :])
        elif name in p.files:
            upload = p.files[name]
        if upload is not None:
            if not upload.data:
                raise APIError(400, "Bad Request: file must be non-empty")
            mime = upload.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(upload.filename)[0] or mime
            return self._files.add(kind, upload.filename, mime, upload.data)
        if isinstance(value, str) and value:
            known = self._files.get(value)
            if known is not None:
                return known
            if value.startswith(("http://", "https://")):
                file_name = urlsplit(value).path.rsplit("/", 1)[-1] or None
                mime = mimetypes.guess_type(file_name)[0] if file_name else None
                return self._files.add(kind, file_name, mime, None)
            raise APIError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        raise APIError(400, f"Bad Request: there is no {name} in the request")
