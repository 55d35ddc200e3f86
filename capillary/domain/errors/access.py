"""Who asks, and whether they may: unknown callers and forbidden acts."""

from __future__ import annotations

from capillary.domain.errors.base import Forbidden, Unauthorized


class BadCredentials(Unauthorized):
    code = "bad_credentials"


class SignInThrottled(Unauthorized):
    code = "sign_in_throttled"


class SessionEnded(Unauthorized):
    code = "session_ended"


class NoPrincipal(Unauthorized):
    code = "no_principal"


class UnknownPrincipal(Unauthorized):
    code = "unknown_principal"


class NotHolder(Forbidden):
    code = "not_holder"


class CsrfRefused(Forbidden):
    code = "csrf_refused"
