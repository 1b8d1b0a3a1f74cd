"""plex.tv simulator: PIN sign-in, the account, and the account's servers.

Sources: python-plexapi 4.18 myplex.py (MyPlexPinLogin reads `id`, `code`, `authToken`
from XML; MyPlexResource and ResourceConnection attributes; the resources URL), pin
JSON shapes used by client libraries (zod PinsSchema: id, code, product, trusted, qr,
clientIdentifier, location, expiresIn, createdAt, expiresAt, authToken), and the 401
body quoted in ThioJoe/Plex-Show-Subtitles-On-Rewind#7:
{"errors":[{"code":1001,"message":"User could not be authenticated","status":401}]}.
The 400 message "X-Plex-Client-Identifier is missing" is in plexjs's GetPin docs; the
codes 1000 (missing parameter) and 1020 (unknown PIN) are not verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
import math
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .base import Simulator, plex_token, random_string
from .document import Element, Value
from .world import World

if TYPE_CHECKING:
    from .plex import PlexSimulator

STRONG_CODE_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
SHORT_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
LOCATION: dict[str, Value] = {
    "code": "US",
    "european_union_member": False,
    "continent_code": "NA",
    "country": "United States",
    "city": "Ashburn",
    "time_zone": "America/New_York",
    "postal_code": "20149",
    "in_privacy_restricted_country": False,
    "in_privacy_restricted_region": False,
    "subdivisions": "Virginia",
    "coordinates": "39.0469, -77.4903",
}
MISSING_CLIENT_ID = (400, 1000, "X-Plex-Client-Identifier is missing")
MISSING_PRODUCT = (400, 1000, "X-Plex-Product is missing")
NOT_AUTHENTICATED = (401, 1001, "User could not be authenticated")
PIN_NOT_FOUND = (404, 1020, "Code not found or expired")


def _iso(moment: datetime) -> str:
    """Format a time as plex.tv does (UTC, seconds, Z)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class Pin:
    """A sign-in PIN created by a client."""

    id: int
    code: str
    product: str
    client_identifier: str
    created_at: datetime
    expires_in: int
    auth_token: str | None = None

    @property
    def expires_at(self) -> datetime:
        """Return when the PIN stops being valid."""
        return self.created_at + timedelta(seconds=self.expires_in)

    def attrs(self, now: datetime) -> dict[str, Value]:
        """Return the PIN's fields as plex.tv reports them now."""
        return {
            "id": self.id,
            "code": self.code,
            "product": self.product,
            "trusted": False,
            "qr": f"https://plex.tv/api/v2/pins/qr/{self.code}",
            "clientIdentifier": self.client_identifier,
            "expiresIn": max(0, math.ceil((self.expires_at - now).total_seconds())),
            "createdAt": _iso(self.created_at),
            "expiresAt": _iso(self.expires_at),
            "authToken": self.auth_token,
            "newRegistration": None,
        }


class PlexTvSimulator(Simulator):
    """plex.tv: PINs, /api/v2/user and /api/v2/resources."""

    name = "plextv"
    public_paths = ("/api/v2/pins",)

    def __init__(
        self,
        *,
        seed: int = 0,
        world: World | None = None,
        plex: PlexSimulator | None = None,
    ) -> None:
        """Create an account owning the given Plex server, if any."""
        super().__init__(seed=seed, world=world)
        self.plex = plex
        self.account_token = plex.token if plex is not None else plex_token(self.rng)
        self.tokens = {self.account_token}
        self.account_id = self.rng.randrange(10_000_000, 99_999_999)
        self.account_uuid = random_string(self.rng, 16)
        self.username = plex.username if plex is not None else "smartplex-owner"
        self.email = f"{self.username}@example.com"
        self.pins: dict[int, Pin] = {}
        # The account's servers and whether it owns each (others are shared with it).
        self.servers: list[tuple[PlexSimulator, bool]] = (
            [] if plex is None else [(plex, True)]
        )
        self._next_pin_id = self.rng.randrange(1_000_000_000, 2_000_000_000)

    def authorize_pin(self, pin_id: int, token: str | None = None) -> str:
        """Sign the PIN in, as the user would in the browser; return its token."""
        token = token or self.account_token
        self.tokens.add(token)
        self.pins[pin_id].auth_token = token
        return token

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the plex.tv endpoints."""
        router.add_post("/api/v2/pins", self._create_pin)
        router.add_get("/api/v2/pins/{pin_id:\\d+}", self._get_pin)
        router.add_get("/api/v2/user", self._user)
        router.add_get("/api/v2/resources", self._resources)

    def error(self, request: web.Request, status: int) -> web.Response:
        """Answer a generic error in plex.tv's error format."""
        return self._errors(request, (status, status, HTTPStatus(status).phrase))

    def unauthorized(self, request: web.Request) -> web.Response:
        """Answer a bad token as plex.tv does."""
        return self._errors(request, NOT_AUTHENTICATED)

    def _errors(
        self, request: web.Request, error: tuple[int, int, str]
    ) -> web.Response:
        """Render plex.tv's `errors` document as JSON or XML."""
        status, code, message = error
        fields: dict[str, Value] = {"code": code, "message": message, "status": status}
        if _wants_json(request):
            return web.json_response({"errors": [fields]}, status=status)
        document = Element("errors", {}, [Element("error", fields)])
        return _xml(document, status)

    @staticmethod
    def _param(request: web.Request, name: str) -> str | None:
        """Return an X-Plex-* value from the headers or the query."""
        return request.headers.get(name) or request.query.get(name)

    def _authorized(self, request: web.Request) -> bool:
        """Return whether the request carries a token of the account."""
        return self._param(request, "X-Plex-Token") in self.tokens

    async def _create_pin(self, request: web.Request) -> web.Response:
        """Create a PIN (strong=true gives a long code for the OAuth flow)."""
        client_identifier = self._param(request, "X-Plex-Client-Identifier")
        if not client_identifier:
            return self._errors(request, MISSING_CLIENT_ID)
        product = self._param(request, "X-Plex-Product")
        if not product:
            return self._errors(request, MISSING_PRODUCT)
        strong = request.query.get("strong", "").lower() in ("1", "true")
        pin = Pin(
            id=self._next_pin_id,
            code=random_string(self.rng, 25, STRONG_CODE_ALPHABET)
            if strong
            else random_string(self.rng, 4, SHORT_CODE_ALPHABET),
            product=product,
            client_identifier=client_identifier,
            created_at=datetime.now(UTC).replace(microsecond=0),
            expires_in=1800 if strong else 900,
        )
        self._next_pin_id += 1
        self.pins[pin.id] = pin
        return self._render_pin(request, pin, status=201)

    async def _get_pin(self, request: web.Request) -> web.Response:
        """Poll a PIN; only the client that created it may see it."""
        client_identifier = self._param(request, "X-Plex-Client-Identifier")
        if not client_identifier:
            return self._errors(request, MISSING_CLIENT_ID)
        pin = self.pins.get(int(request.match_info["pin_id"]))
        if (
            pin is None
            or pin.client_identifier != client_identifier
            or pin.expires_at <= datetime.now(UTC)
        ):
            return self._errors(request, PIN_NOT_FOUND)
        return self._render_pin(request, pin, status=200)

    def _render_pin(self, request: web.Request, pin: Pin, status: int) -> web.Response:
        """Render a PIN with its location as JSON or XML."""
        attrs = pin.attrs(datetime.now(UTC))
        if _wants_json(request):
            return web.json_response({**attrs, "location": LOCATION}, status=status)
        return _xml(Element("pin", attrs, [Element("location", LOCATION)]), status)

    async def _user(self, request: web.Request) -> web.Response:
        """Answer the account owning the token."""
        if not self._authorized(request):
            return self.unauthorized(request)
        token = self._param(request, "X-Plex-Token")
        attrs: dict[str, Value] = {
            "id": self.account_id,
            "uuid": self.account_uuid,
            "username": self.username,
            "title": self.username,
            "email": self.email,
            "friendlyName": "",
            "locale": None,
            "confirmed": True,
            "joinedAt": 1_600_000_000,
            "emailOnlyAuth": False,
            "hasPassword": True,
            "protected": False,
            "thumb": f"https://plex.tv/users/{self.account_uuid}/avatar?c=1700000000",
            "authToken": token,
            "mailingListStatus": "unsubscribed",
            "mailingListActive": False,
            "scrobbleTypes": "",
            "country": "US",
            "subscriptionDescription": "Lifetime Plex Pass",
            "restricted": False,
            "anonymous": None,
            "home": True,
            "guest": False,
            "homeSize": 1,
            "homeAdmin": True,
            "maxHomeSize": 15,
            "rememberExpiresAt": 1_900_000_000,
            "adsConsent": None,
            "adsConsentSetAt": None,
            "adsConsentReminderAt": None,
            "experimentalFeatures": False,
            "twoFactorEnabled": False,
            "backupCodesCreated": False,
            "attributionPartner": None,
        }
        subscription: dict[str, Value] = {
            "active": True,
            "subscribedAt": "2020-09-13T12:26:40Z",
            "status": "Active",
            "paymentService": "",
            "plan": "lifetime",
        }
        if _wants_json(request):
            body: dict[str, Any] = {
                **attrs,
                "subscription": {**subscription, "features": ["webhooks"]},
                "roles": ["plexpass"],
                "entitlements": ["all"],
            }
            return web.json_response(body)
        children = [
            Element(
                "subscription", subscription, [Element("feature", {"id": "webhooks"})]
            ),
            Element("roles", {}, [Element("role", {"id": "plexpass"})]),
            Element("entitlements", {"all": True}),
        ]
        return _xml(Element("user", attrs, children), 200)

    async def _resources(self, request: web.Request) -> web.Response:
        """List the account's devices: the linked Plex server, if any."""
        if not self._authorized(request):
            return self.unauthorized(request)
        resources = [
            self._server_resource(plex, owned=owned) for plex, owned in self.servers
        ]
        if _wants_json(request):
            return web.json_response(
                [
                    {**attrs, "connections": connections}
                    for attrs, connections in resources
                ]
            )
        document = Element(
            "resources",
            {"size": len(resources)},
            [
                Element(
                    "resource",
                    attrs,
                    [
                        Element(
                            "connections",
                            {},
                            [Element("connection", c) for c in connections],
                        )
                    ],
                )
                for attrs, connections in resources
            ],
        )
        return _xml(document, 200)

    @staticmethod
    def _server_resource(
        plex: PlexSimulator, *, owned: bool
    ) -> tuple[dict[str, Value], list[dict[str, Value]]]:
        """Describe a Plex server as a resource with its one local connection."""
        attrs: dict[str, Value] = {
            "name": plex.friendly_name,
            "product": "Plex Media Server",
            "productVersion": plex.version,
            "platform": plex.platform,
            "platformVersion": plex.platform_version,
            "device": "PC",
            "clientIdentifier": plex.machine_identifier,
            "createdAt": "2023-11-14T22:13:20Z",
            "lastSeenAt": _iso(datetime.now(UTC)),
            "provides": "server",
            "ownerId": None if owned else 1234567,
            "sourceTitle": None,
            "publicAddress": "203.0.113.10",
            "accessToken": plex.token,
            "owned": owned,
            "home": False,
            "synced": False,
            "relay": True,
            "presence": True,
            "httpsRequired": False,
            "publicAddressMatches": True,
            "dnsRebindingProtection": False,
            "natLoopbackSupported": False,
        }
        connection: dict[str, Value] = {
            "protocol": "http",
            "address": "127.0.0.1",
            "port": plex.port,
            "uri": plex.url,
            "local": True,
            "relay": False,
            "IPv6": False,
        }
        return attrs, [connection]


def _wants_json(request: web.Request) -> bool:
    """Return whether the client asked for JSON."""
    return "application/json" in request.headers.get("Accept", "")


def _xml(document: Element, status: int) -> web.Response:
    """Answer an XML document."""
    return web.Response(
        status=status,
        text=document.to_xml(),
        content_type="application/xml",
        charset="utf-8",
    )
