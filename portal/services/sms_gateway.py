"""SMS senders: the development sender (records only, the default) and an HTTP gateway.

The gateway contract is deliberately plain so a province's SMS platform can sit behind a thin
adapter: `POST SMS_GATEWAY_URL` with JSON `{"phone", "text", "sign", "ref"}` and
`Authorization: Bearer SMS_GATEWAY_KEY`. 2xx means accepted; 429 means slow down (honouring
`Retry-After`); other 4xx are permanent refusals; 5xx and time-outs are retried by the job
system. `ref` is the outbox id, so a gateway that saw a text twice (a retry after a lost
answer) can drop the copy.
"""
from __future__ import annotations

from typing import Protocol

import httpx

from portal.services.jobs import PermanentError, RetryLater


class Sender(Protocol):
    """Delivers one text; raises on failure."""

    def send(self, phone: str | None, body: str, ref: str | None = None) -> None: ...


class DevSender:
    """Development sender: nothing leaves the machine; the outbox row itself is the record."""

    def __init__(self) -> None:
        self.sent: list[tuple[str | None, str]] = []

    def send(self, phone: str | None, body: str, ref: str | None = None) -> None:
        self.sent.append((phone, body))


class HttpGatewaySender:
    """Posts each text to an HTTP SMS gateway with a bounded time-out."""

    def __init__(self, url: str, key: str, sign: str, timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url, self.key, self.sign = url, key, sign
        self.client = httpx.Client(timeout=timeout, transport=transport)

    def send(self, phone: str | None, body: str, ref: str | None = None) -> None:
        if not phone:
            raise PermanentError("no mobile number for this text")
        try:
            response = self.client.post(self.url, json={"phone": phone, "text": body, "sign": self.sign, "ref": ref},
                                        headers={"Authorization": f"Bearer {self.key}"})
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"SMS gateway did not answer in time ({type(exc).__name__})") from exc
        if response.status_code == 429:
            raise RetryLater(_retry_after(response.headers.get("retry-after")))
        if 400 <= response.status_code < 500:
            raise PermanentError(f"SMS gateway refused the text: HTTP {response.status_code} {response.text[:200]}")
        if response.status_code >= 500:
            raise ConnectionError(f"SMS gateway failed: HTTP {response.status_code}")


def _retry_after(value: str | None) -> float:
    try:
        return max(1.0, min(3600.0, float(value or 60)))
    except ValueError:
        return 60.0


def sender_from_settings(settings: object) -> Sender:
    """The HTTP gateway when SMS_GATEWAY_URL is set, else the development sender."""
    url = getattr(settings, "sms_gateway_url", "")
    if not url:
        return DevSender()
    return HttpGatewaySender(url, getattr(settings, "sms_gateway_key", ""), getattr(settings, "sms_signature", ""),
                             timeout=float(getattr(settings, "sms_timeout_seconds", 5.0)))
