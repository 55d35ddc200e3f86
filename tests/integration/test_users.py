"""Console users (issue 13) through the service, on SQLite and PostgreSQL: who manages whom,
passwords kept only as argon2id hashes, sign-in and its throttling, sessions that end."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pytest

from capillary.adapters.clock import ManualClock
from capillary.bootstrap import Platform, open_platform
from capillary.domain.access import Principal, UserRole
from capillary.domain.errors import (
    BadCredentials,
    Forbidden,
    IdempotencyConflict,
    SessionEnded,
    SignInThrottled,
    UserExists,
    UserNotFound,
    ValidationError,
)
from capillary.domain.users import FAILURES_ALLOWED, IDLE_SECONDS
from capillary.services.users import UserService
from tests.api.conftest import seed

PASSWORD = "correct horse battery staple"


@pytest.fixture
def p(store_url: str) -> Iterator[Platform]:
    platform, _ = seed(store_url)
    yield platform
    platform.ledger.db.dispose()


@pytest.fixture
def wall() -> ManualClock:
    return ManualClock()


@pytest.fixture
def users(p: Platform, wall: ManualClock) -> UserService:
    return UserService(p.ledger.db, clock=wall, wall=wall)


def admin(p: Platform, org: str) -> Principal:
    return p.parties.principal(org, "admin", user_role=UserRole.ADMIN)


def test_an_admin_adds_its_own_users_and_the_operator_anyones(
    p: Platform, users: UserService
) -> None:
    made = users.add_user(principal=admin(p, "tier1"), org="tier1", login="Wang.Fang",
                          name="Wang Fang", role="staff", password=PASSWORD, key="u1")  # fmt: skip
    assert (made.org, made.login, made.role, made.active) == ("tier1", "wang.fang",
                                                              UserRole.STAFF, True)  # fmt: skip
    again = users.add_user(principal=admin(p, "tier1"), org="tier1", login="wang.fang",
                           name="Wang Fang", role="staff", password=PASSWORD, key="u1")  # fmt: skip
    assert again == made  # a replay
    with pytest.raises(IdempotencyConflict):  # the same key, another request
        users.add_user(principal=admin(p, "tier1"), org="tier1", login="wang.fang",
                       name="Wang", role="staff", password=f"{PASSWORD}!", key="u1")  # fmt: skip
    with pytest.raises(UserExists):
        users.add_user(principal=admin(p, "tier2"), org="tier2", login="wang.fang",
                       name="Another", role="staff", password=PASSWORD, key="u2")  # fmt: skip
    with pytest.raises(Forbidden):  # not its organization
        users.add_user(principal=admin(p, "tier2"), org="tier1", login="li.na", name="Li Na",
                       role="staff", password=PASSWORD, key="u3")  # fmt: skip
    staff = p.parties.principal("tier1", "clerk", user_role=UserRole.STAFF)
    with pytest.raises(Forbidden):  # not an admin
        users.add_user(principal=staff, org="tier1", login="li.na", name="Li Na",
                       role="staff", password=PASSWORD, key="u4")  # fmt: skip
    users.add_user(principal=admin(p, "ops"), org="audit", login="auditor.zhao",
                   name="Zhao Lei", role="read_only", password=PASSWORD, key="u5")  # fmt: skip
    assert [u.login for u in users.users(principal=admin(p, "tier1"))] == ["wang.fang"]
    assert users.users(principal=admin(p, "tier2"), org="tier1") == []
    everyone = {u.login for u in users.users(principal=admin(p, "ops"))}
    assert everyone == {"wang.fang", "auditor.zhao"}


@pytest.mark.parametrize(
    ("login", "password"),
    [("a", PASSWORD), ("Has Space", PASSWORD), ("ok.name", "short"),
     ("ok.name", "ok.name is my password"), ("ok.name", "aaaaaaaaaaaaaaaa")],
)  # fmt: skip
def test_bad_login_names_and_weak_passwords_are_refused(
    p: Platform, users: UserService, login: str, password: str
) -> None:
    with pytest.raises(ValidationError):
        users.add_user(principal=admin(p, "tier1"), org="tier1", login=login, name="X",
                       role="staff", password=password, key="bad")  # fmt: skip


def test_the_password_is_kept_only_as_an_argon2id_hash(p: Platform, users: UserService) -> None:
    users.add_user(principal=admin(p, "tier1"), org="tier1", login="wang.fang",
                   name="Wang Fang", role="staff", password=PASSWORD, key="u1")  # fmt: skip
    (stored,) = p.ledger.db.transaction(
        lambda c: [r[0] for r in c.exec_driver_sql("SELECT password_hash FROM users")]
    )
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    kept = p.ledger.db.transaction(
        lambda c: [(r[0], zlib.decompress(bytes(r[1])).decode()) for r in
                   c.exec_driver_sql("SELECT request_hash, result FROM idempotency")]
    )  # fmt: skip
    assert kept
    assert not any(PASSWORD in f"{h} {result}" for h, result in kept)


def test_a_user_signs_in_acts_as_its_organization_and_signs_out(
    p: Platform, users: UserService
) -> None:
    users.add_user(principal=admin(p, "tier1"), org="tier1", login="wang.fang",
                   name="Wang Fang", role="read_only", password=PASSWORD, key="u1")  # fmt: skip
    signed = users.sign_in("Wang.Fang ", PASSWORD)
    console = users.session(signed.token)
    assert console.principal.org == "tier1"
    assert console.principal.user == "user:wang.fang"
    assert console.principal.user_role is UserRole.READ_ONLY
    assert console.csrf == signed.csrf
    users.sign_out(signed.token)
    with pytest.raises(SessionEnded):
        users.session(signed.token)
    with pytest.raises(SessionEnded):
        users.session("not-a-token")


def test_a_wrong_password_and_an_unknown_name_are_refused_alike(
    p: Platform, users: UserService
) -> None:
    users.add_user(principal=admin(p, "tier1"), org="tier1", login="wang.fang",
                   name="Wang Fang", role="staff", password=PASSWORD, key="u1")  # fmt: skip
    with pytest.raises(BadCredentials) as wrong:
        users.sign_in("wang.fang", PASSWORD + "x")
    with pytest.raises(BadCredentials) as unknown:
        users.sign_in("nobody.here", PASSWORD)
    assert wrong.value.message == unknown.value.message


def test_failed_sign_ins_throttle_the_name_until_the_window_passes(
    p: Platform, users: UserService, wall: ManualClock
) -> None:
    users.add_user(principal=admin(p, "tier1"), org="tier1", login="wang.fang",
                   name="Wang Fang", role="staff", password=PASSWORD, key="u1")  # fmt: skip
    for _ in range(FAILURES_ALLOWED):
        with pytest.raises(BadCredentials):
            users.sign_in("wang.fang", "a wrong password guessed")
        wall.advance(seconds=10)
    with pytest.raises(SignInThrottled):  # even the right password waits
        users.sign_in("wang.fang", PASSWORD)
    wall.advance(seconds=15 * 60)
    assert users.sign_in("wang.fang", PASSWORD).user.login == "wang.fang"
    users.sign_in("wang.fang", PASSWORD)  # a success cleared the failures


def test_sessions_end_when_idle_and_when_the_user_is_disabled_or_its_password_changes(
    p: Platform, users: UserService, wall: ManualClock
) -> None:
    users.add_user(principal=admin(p, "tier1"), org="tier1", login="wang.fang",
                   name="Wang Fang", role="staff", password=PASSWORD, key="u1")  # fmt: skip
    idle = users.sign_in("wang.fang", PASSWORD)
    wall.advance(seconds=IDLE_SECONDS + 1)
    with pytest.raises(SessionEnded):
        users.session(idle.token)
    kept = users.sign_in("wang.fang", PASSWORD)
    for _ in range(3):  # used within the idle time, it lives on
        wall.advance(seconds=IDLE_SECONDS - 60)
        users.session(kept.token)
    me = users.session(kept.token).principal
    users.set_password("wang.fang", principal=me, password=PASSWORD + " again", key="pw1")
    with pytest.raises(SessionEnded):
        users.session(kept.token)
    fresh = users.sign_in("wang.fang", PASSWORD + " again")
    users.disable("wang.fang", principal=admin(p, "tier1"), key="off")
    with pytest.raises(SessionEnded):
        users.session(fresh.token)
    with pytest.raises(BadCredentials):
        users.sign_in("wang.fang", PASSWORD + " again")
    users.enable("wang.fang", principal=admin(p, "tier1"), key="on")
    users.sign_in("wang.fang", PASSWORD + " again")


def test_roles_change_by_admins_only_and_other_organizations_users_do_not_exist(
    p: Platform, users: UserService
) -> None:
    users.add_user(principal=admin(p, "tier1"), org="tier1", login="wang.fang",
                   name="Wang Fang", role="staff", password=PASSWORD, key="u1")  # fmt: skip
    me = users.session(users.sign_in("wang.fang", PASSWORD).token).principal
    with pytest.raises(Forbidden):  # staff may not make itself admin
        users.set_role("wang.fang", principal=me, role="admin", key="r1")
    with pytest.raises(UserNotFound):
        users.set_role("wang.fang", principal=admin(p, "tier2"), role="admin", key="r2")
    changed = users.set_role("wang.fang", principal=admin(p, "tier1"), role="admin", key="r3")
    assert changed.role is UserRole.ADMIN
    with pytest.raises(ValidationError):
        users.set_role("wang.fang", principal=admin(p, "tier1"), role="owner", key="r4")


def test_the_platform_wires_the_user_service(store_url: str) -> None:
    platform = open_platform(store_url)
    assert isinstance(platform.users, UserService)
    platform.ledger.db.dispose()
