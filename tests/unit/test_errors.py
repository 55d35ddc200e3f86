import re

from capillary.domain import errors


def _all(cls: type[errors.CapillaryError]) -> list[type[errors.CapillaryError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_all(sub))
    return out


def test_every_error_has_its_own_stable_snake_case_code() -> None:
    classes = _all(errors.CapillaryError)
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes)), "two errors share a code"
    assert all(re.fullmatch(r"[a-z][a-z_]+", code) for code in codes)


def test_every_error_is_documented_in_the_module_tree() -> None:
    doc = errors.__doc__ or ""
    for cls in _all(errors.CapillaryError):
        assert cls.__name__ in doc, f"{cls.__name__} missing from the error tree"


def test_a_rejected_batch_names_each_refused_item() -> None:
    items = [
        errors.ItemError(3, "k3", errors.TooFewLegs("one leg")),
        errors.ItemError(9, "k9", errors.InvalidAmount("zero")),
    ]
    rejected = errors.BatchRejected(items)
    assert [e.code for e in rejected.errors] == ["too_few_legs", "invalid_amount"]
    assert "item 3 ('k3')" in str(rejected)
    assert rejected.as_dict()["code"] == "batch_rejected"
