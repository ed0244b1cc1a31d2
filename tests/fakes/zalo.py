"""A fake Zalo OA OpenAPI and OAuth server: real HTTP, tokens checked and spent like Zalo does."""

from __future__ import annotations

from urllib.parse import urlparse

from tests.fakes.http import Call, Reply, UploadedFile, _FakeServer, _params

ZALO_APP_ID = "2553928453557884079"
ZALO_OA_SECRET = "oa-secret-key-for-tests"
ZALO_APP_SECRET = "app-secret-for-tests"


class FakeZalo(_FakeServer):
    """The OA OpenAPI (`/v3.0/oa/message/cs`) and OAuth v4 (`/v4/oa/access_token`) in one server.

    Access and refresh tokens are checked like Zalo does: an unknown access token gets
    -216, and a refresh token works once.
    """

    def __init__(self, app_id: str, app_secret: str, access_token: str, refresh_token: str) -> None:
        super().__init__()
        self.app_id = app_id
        self.app_secret = app_secret
        self.valid_access = {access_token}
        self.valid_refresh = {refresh_token}
        self.issued: list[tuple[str, str]] = []
        self.refused_users: dict[str, int] = {}
        # Whose message a reply names (`recipient.message_id`), as Zalo knows; tests fill it.
        self.message_users: dict[str, str] = {}

    def sent(self) -> list[Call]:
        return self.calls_of("/v3.0/oa/message/cs")

    def uploads(self) -> list[UploadedFile]:
        """Files uploaded to `/v2.0/oa/upload/file` with a valid token."""
        return [c.params["file"] for c in self.calls_of("/v2.0/oa/upload/file") if c.params.get("_accepted")]

    def delivered_files(self) -> list[str]:
        """File tokens of the messages delivered with a file attachment."""
        return [
            c.params["message"]["attachment"]["payload"]["token"]
            for c in self.sent()
            if c.params.get("_delivered")
            and (c.params["message"].get("attachment") or {}).get("type") == "file"
        ]

    def delivered_texts(self) -> list[str]:
        return [
            c.params["message"]["text"]
            for c in self.sent()
            if c.params.get("_delivered") and "text" in c.params["message"]
        ]

    def _dispatch(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        parsed = urlparse(path)
        lower = {k.lower(): v for k, v in headers.items()}
        call = Call(parsed.path, parsed.path, headers, _params(headers, raw, parsed.query))
        self._record(call)
        scripted = self._scripted(parsed.path)
        if scripted:
            return scripted
        if parsed.path == "/v3.0/oa/message/cs":
            if lower.get("access_token") not in self.valid_access:
                return 200, {}, {"error": -216, "message": "Access token is invalid"}
            recipient = call.params.get("recipient", {})
            if "message_id" in recipient:
                user_id = self.message_users.get(str(recipient["message_id"]), "")
            else:
                user_id = str(recipient.get("user_id"))
            if user_id in self.refused_users:
                code = self.refused_users[user_id]
                return (
                    200,
                    {},
                    {"error": code, "message": "User has not interacted with the OA in the past 7 days"},
                )
            call.params["_delivered"] = True
            return (
                200,
                {},
                {
                    "error": 0,
                    "message": "Success",
                    "data": {"message_id": f"m{len(self.calls)}", "user_id": user_id},
                },
            )
        if parsed.path == "/v2.0/oa/upload/file":
            if lower.get("access_token") not in self.valid_access:
                return 200, {}, {"error": -216, "message": "Access token is invalid"}
            upload = call.params.get("file")
            if not isinstance(upload, UploadedFile) or upload.content_type != "application/pdf":
                return 200, {}, {"error": -210, "message": "File type is not supported"}
            if len(upload.data) > 5 * 1024 * 1024:
                return 200, {}, {"error": -211, "message": "File is too large"}
            call.params["_accepted"] = True
            return (
                200,
                {},
                {"error": 0, "message": "Success", "data": {"token": f"filetoken-{len(self.calls)}"}},
            )
        if parsed.path == "/v4/oa/access_token":
            if lower.get("secret_key") != self.app_secret or call.params.get("app_id") != self.app_id:
                return 200, {}, {"error": -14002, "error_name": "Invalid app"}
            token = call.params.get("refresh_token")
            if call.params.get("grant_type") != "refresh_token" or token not in self.valid_refresh:
                return 200, {}, {"error": -14014, "error_name": "Invalid refresh token"}
            self.valid_refresh.discard(token)  # single use
            n = len(self.issued) + 1
            pair = (f"access-{n}", f"refresh-{n}")
            self.issued.append(pair)
            self.valid_access = {pair[0]}
            self.valid_refresh.add(pair[1])
            return 200, {}, {"access_token": pair[0], "refresh_token": pair[1], "expires_in": "90000"}
        return 404, {}, {"error": -404, "message": "empty api"}


# --- helpers for the tests ---------------------------------------------------------------
