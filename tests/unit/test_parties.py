from decimal import Decimal

import pytest

from capillary.domain import errors
from capillary.domain.parties import (
    RelationshipStatus,
    Role,
    Tolerance,
    TradeRelationship,
    check_code,
    normalize_identifier,
    parse_roles,
    require_trade,
)


def test_a_unified_social_credit_code_is_checked_by_its_check_character() -> None:
    assert normalize_identifier("USCC", " 91440300MA5F8Q2K1L ") == ("uscc", "91440300MA5F8Q2K1L")
    for bad in ("91440300MA5F8Q2K1X", "91440300MA5F8Q2K1", "not-a-code"):
        with pytest.raises(errors.InvalidIdentifier):
            normalize_identifier("uscc", bad)


def test_other_schemes_are_declared_by_name_and_checked_for_shape() -> None:
    assert normalize_identifier("brn", "hk-7734120") == ("brn", "HK-7734120")
    assert normalize_identifier("lei", "5493001KJTIIGC8Y1R12")[0] == "lei"
    with pytest.raises(errors.InvalidIdentifier):
        normalize_identifier("brn", "x")
    with pytest.raises(errors.InvalidIdentifier):
        normalize_identifier("not a scheme!", "12345")


def test_roles_come_in_any_separator_and_must_be_known() -> None:
    assert parse_roles("core|supplier") == {Role.CORE, Role.SUPPLIER}
    assert parse_roles("Funder, auditor") == {Role.FUNDER, Role.AUDITOR}
    with pytest.raises(errors.ValidationError, match="wholesaler"):
        parse_roles("supplier|wholesaler")
    with pytest.raises(errors.ValidationError):
        parse_roles("")


def test_organization_codes_are_slugs() -> None:
    assert check_code("huaxin-auto") == "huaxin-auto"
    for bad in ("Huaxin", "a", "-x-", "has space", "x" * 65):
        with pytest.raises(errors.ValidationError):
            check_code(bad)


def test_a_tolerance_is_a_percentage_and_a_non_negative_amount() -> None:
    assert Tolerance(Decimal("2.5"), 100).fraction == Decimal("0.025")
    with pytest.raises(errors.ValidationError):
        Tolerance(Decimal("101"), 0)
    with pytest.raises(errors.ValidationError):
        Tolerance(Decimal("1"), -1)


def test_documents_flow_only_along_an_active_relationship() -> None:
    require_trade(TradeRelationship("b", "s", RelationshipStatus.ACTIVE), "b", "s")
    with pytest.raises(errors.NoRelationship, match="no trade relationship"):
        require_trade(None, "b", "s")
    with pytest.raises(errors.NoRelationship, match="suspended"):
        require_trade(TradeRelationship("b", "s", RelationshipStatus.SUSPENDED), "b", "s")
