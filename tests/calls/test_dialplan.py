"""The dial plan: every kind of dialled string, as a pure function."""

import pytest

from toc.calls.dialplan import Route, RouteKind, resolve


@pytest.mark.parametrize(
    ("dialled", "expected"),
    [
        ("102", Route(RouteKind.EXTENSION, "102", target="102")),
        ("1234", Route(RouteKind.EXTENSION, "1234", target="1234")),
        (" 1 0 2 ", Route(RouteKind.EXTENSION, "102", target="102")),
        ("911", Route(RouteKind.EMERGENCY, "911", target="911")),
        ("416-555-0123", Route(RouteKind.OUTSIDE, "4165550123", target="+14165550123")),
        ("(416) 555.0123", Route(RouteKind.OUTSIDE, "4165550123", target="+14165550123")),
        ("14165550123", Route(RouteKind.OUTSIDE, "14165550123", target="+14165550123")),
        ("+44 20 7946 0958", Route(RouteKind.OUTSIDE, "+442079460958", target="+442079460958")),
        ("601", Route(RouteKind.PARK, "601", target="601")),
        ("699", Route(RouteKind.PARK, "699", target="699")),
        ("701", Route(RouteKind.CONFERENCE, "701", target="701")),
        ("*86", Route(RouteKind.VOICEMAIL, "*86")),
        ("*84102", Route(RouteKind.VOICEMAIL_LOGIN, "*84102", target="102")),
        ("*85102", Route(RouteKind.VOICEMAIL_GREETING, "*85102", target="102")),
        ("*841000", Route(RouteKind.VOICEMAIL_LOGIN, "*841000", target="1000")),
        ("999", Route(RouteKind.VOICEMAIL, "999")),
        ("", Route(RouteKind.INVALID, "", message="Enter a number or an extension to call.")),
        ("abc", Route(RouteKind.INVALID, "abc", message="A number can hold only digits, *, # and a leading +.")),
        ("1+2", Route(RouteKind.INVALID, "1+2", message="A number can hold only digits, *, # and a leading +.")),
        ("12", Route(RouteKind.INVALID, "12", message="12 is not an extension or a phone number that can be called.")),
        (
            "0123",
            Route(RouteKind.INVALID, "0123", message="0123 is not an extension or a phone number that can be called."),
        ),
        (
            "5550123",
            Route(
                RouteKind.INVALID,
                "5550123",
                message="5550123 is not an extension or a phone number that can be called.",
            ),
        ),
        (
            "*99",
            Route(RouteKind.INVALID, "*99", message="*99 is not an extension or a phone number that can be called."),
        ),
    ],
)
def test_resolve(dialled: str, expected: Route) -> None:
    assert resolve(dialled, region="CA") == expected


def test_overlong_input_is_refused_and_cut() -> None:
    route = resolve("1" * 40)
    assert route.kind is RouteKind.INVALID
    assert len(route.dialled) == 32


def test_911_wins_over_every_other_rule() -> None:
    # 911 is 3 digits like an extension; it must never resolve to anything but emergency.
    assert resolve("911").kind is RouteKind.EMERGENCY
    assert resolve("9-1-1").kind is RouteKind.EMERGENCY
