"""Account services: creating users, preferences, and password login under the throttle."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from tests.factories import PASSWORD
from toc.accounts import services
from toc.accounts.models import CallingDevice, LoginThrottle, Organisation, User

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def messages_of(error: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return error.value.message_dict


def login(email: str, password: str, *, now: datetime, address: str = "203.0.113.7") -> services.LoginResult:
    return services.login_with_password(request=None, email=email, password=password, client_address=address, now=now)


def fail_logins(email: str, times: int, *, now: datetime) -> None:
    for _ in range(times):
        assert login(email, "wrong password", now=now).user is None


# create_user


def test_create_user_stores_a_member_with_a_lower_case_email_and_e164_numbers(acme: Organisation):
    # when
    user = services.create_user(
        organisation=acme,
        email="  Dana.Smith@Acme.Example ",
        password=PASSWORD,
        first_name=" Dana ",
        last_name="Smith",
        extension="105",
        mobile_number="(416) 555-0199",
        direct_number="416.555.0105",
    )

    # then
    stored = User.objects.get(pk=user.pk)
    assert stored.organisation == acme
    assert stored.email == "dana.smith@acme.example"
    assert stored.first_name == "Dana"
    assert stored.extension == "105"
    assert stored.mobile_number == "+14165550199"
    assert stored.direct_number == "+14165550105"
    assert stored.check_password(PASSWORD) is True
    assert stored.roles == ["user"]


def test_create_user_without_a_password_makes_an_sso_only_account(acme: Organisation):
    # when
    user = services.create_user(organisation=acme, email="sso@acme.example", password=None)

    # then
    assert User.objects.get(pk=user.pk).has_usable_password() is False


@pytest.mark.parametrize("email", ["", "not-an-address", "dana@", "@acme.example", "dana smith@acme.example"])
def test_create_user_refuses_what_is_not_an_email_address(acme: Organisation, email: str):
    # when
    with pytest.raises(ValidationError) as error:
        services.create_user(organisation=acme, email=email, password=PASSWORD)

    # then
    assert messages_of(error) == {"email": [f"“{email}” is not an e-mail address."]}
    assert User.objects.count() == 0


@pytest.mark.parametrize("email", ["alice@acme.example", "ALICE@Acme.Example", " Alice@acme.example "])
def test_create_user_refuses_an_email_address_in_use_in_any_case(acme: Organisation, alice: User, email: str):
    # when
    with pytest.raises(ValidationError) as error:
        services.create_user(organisation=acme, email=email, password=PASSWORD)

    # then
    assert messages_of(error) == {"email": ["A user with the e-mail address alice@acme.example exists."]}
    assert User.objects.count() == 1


def test_create_user_refuses_an_email_address_used_in_another_organisation(globex: Organisation, alice: User):
    # when
    with pytest.raises(ValidationError) as error:
        services.create_user(organisation=globex, email="alice@acme.example", password=PASSWORD)

    # then
    assert messages_of(error) == {"email": ["A user with the e-mail address alice@acme.example exists."]}
    assert User.objects.filter(organisation=globex).count() == 0


@pytest.mark.parametrize("extension", ["12", "12345", "012", "0123", "1a3", "10 1", "abc"])
def test_create_user_refuses_an_invalid_extension(acme: Organisation, extension: str):
    # when
    with pytest.raises(ValidationError) as error:
        services.create_user(organisation=acme, email="dana@acme.example", password=PASSWORD, extension=extension)

    # then
    assert messages_of(error) == {"extension": ["An extension is 3 or 4 digits and does not start with 0."]}
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    ("extension", "message"),
    [
        ("911", "911 is reserved by the dial plan."),
        ("999", "999 is reserved by the dial plan."),
        ("601", "3-digit numbers starting with 6 (park) or 7 (conference rooms) are reserved."),
        ("699", "3-digit numbers starting with 6 (park) or 7 (conference rooms) are reserved."),
        ("700", "3-digit numbers starting with 6 (park) or 7 (conference rooms) are reserved."),
    ],
)
def test_create_user_refuses_a_reserved_extension(acme: Organisation, extension: str, message: str):
    # when
    with pytest.raises(ValidationError) as error:
        services.create_user(organisation=acme, email="dana@acme.example", password=PASSWORD, extension=extension)

    # then
    assert messages_of(error) == {"extension": [message]}
    assert User.objects.count() == 0


@pytest.mark.parametrize("extension", ["6001", "7001", "9110"])
def test_four_digit_extensions_starting_with_6_7_or_911_are_allowed(acme: Organisation, extension: str):
    # when
    user = services.create_user(organisation=acme, email="dana@acme.example", password=PASSWORD, extension=extension)

    # then
    assert User.objects.get(pk=user.pk).extension == extension


def test_create_user_refuses_an_extension_taken_in_the_same_organisation(acme: Organisation, alice: User):
    # when
    with pytest.raises(ValidationError) as error:
        services.create_user(organisation=acme, email="dana@acme.example", password=PASSWORD, extension=" 101 ")

    # then
    assert messages_of(error) == {"extension": ["Extension 101 is already taken."]}
    assert User.objects.filter(organisation=acme).count() == 1


def test_the_same_extension_is_allowed_in_another_organisation(globex: Organisation, alice: User):
    # when
    user = services.create_user(organisation=globex, email="dana@globex.example", password=PASSWORD, extension="101")

    # then
    assert User.objects.get(pk=user.pk).extension == "101"
    assert User.objects.filter(extension="101").count() == 2


@pytest.mark.parametrize("field", ["mobile_number", "direct_number"])
@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("call me", "“call me” is not a phone number."),
        ("555-1234", "“555-1234” is not a valid phone number. Use a full number, e.g. +1 416 555 0123."),
        ("12345", "“12345” is not a valid phone number. Use a full number, e.g. +1 416 555 0123."),
    ],
)
def test_create_user_refuses_an_invalid_number(acme: Organisation, field: str, number: str, message: str):
    # given
    numbers: dict[str, Any] = {field: number}

    # when
    with pytest.raises(ValidationError) as error:
        services.create_user(organisation=acme, email="dana@acme.example", password=PASSWORD, **numbers)

    # then
    assert messages_of(error) == {field: [message]}
    assert User.objects.count() == 0


def test_create_user_keeps_international_numbers_in_e164(acme: Organisation):
    # when
    user = services.create_user(
        organisation=acme, email="dana@acme.example", password=PASSWORD, mobile_number="+44 20 7946 0958"
    )

    # then
    assert User.objects.get(pk=user.pk).mobile_number == "+442079460958"


def test_create_user_refuses_a_direct_number_assigned_to_someone_even_in_another_organisation(
    globex: Organisation, alice: User
):
    # when
    with pytest.raises(ValidationError) as error:
        services.create_user(
            organisation=globex, email="dana@globex.example", password=PASSWORD, direct_number="(416) 555-0101"
        )

    # then
    assert messages_of(error) == {"direct_number": ["+14165550101 is already assigned to someone."]}
    assert User.objects.filter(organisation=globex).count() == 0


def test_create_user_refuses_a_weak_password(acme: Organisation):
    # when
    with pytest.raises(ValidationError) as error:
        services.create_user(organisation=acme, email="dana@acme.example", password="12345678")

    # then
    assert messages_of(error) == {"password": ["This password is too common.", "This password is entirely numeric."]}
    assert User.objects.count() == 0


# update_preferences


def test_update_preferences_saves_device_and_normalised_mobile(alice: User):
    # when
    services.update_preferences(user=alice, calling_device=CallingDevice.MOBILE, mobile_number="416 555 0177")

    # then
    stored = User.objects.get(pk=alice.pk)
    assert stored.calling_device == CallingDevice.MOBILE
    assert stored.mobile_number == "+14165550177"
    assert (alice.calling_device, alice.mobile_number) == (CallingDevice.MOBILE, "+14165550177")


def test_update_preferences_changes_only_what_is_given(alice: User):
    # given
    services.update_preferences(user=alice, calling_device=CallingDevice.DESKPHONE, mobile_number="416 555 0177")

    # when
    services.update_preferences(user=alice, mobile_number="416 555 0188")

    # then
    stored = User.objects.get(pk=alice.pk)
    assert (stored.calling_device, stored.mobile_number) == (CallingDevice.DESKPHONE, "+14165550188")


def test_update_preferences_refuses_an_unknown_device(alice: User):
    # when
    with pytest.raises(ValidationError) as error:
        services.update_preferences(user=alice, calling_device="fax", mobile_number="416 555 0177")

    # then
    assert messages_of(error) == {"calling_device": ["Unknown calling device “fax”."]}
    stored = User.objects.get(pk=alice.pk)
    assert (stored.calling_device, stored.mobile_number) == (CallingDevice.SOFTPHONE, "")


def test_update_preferences_asks_for_a_device_when_none_is_chosen(alice: User):
    # when
    with pytest.raises(ValidationError) as error:
        services.update_preferences(user=alice, calling_device="", mobile_number="")

    # then
    assert messages_of(error) == {"calling_device": ["Choose a calling device."]}
    assert User.objects.get(pk=alice.pk).calling_device == CallingDevice.SOFTPHONE


def test_update_preferences_refuses_an_invalid_mobile_and_changes_nothing(alice: User):
    # when
    with pytest.raises(ValidationError) as error:
        services.update_preferences(user=alice, calling_device=CallingDevice.DESKPHONE, mobile_number="555")

    # then
    assert messages_of(error) == {
        "mobile_number": ["“555” is not a valid phone number. Use a full number, e.g. +1 416 555 0123."]
    }
    stored = User.objects.get(pk=alice.pk)
    assert (stored.calling_device, stored.mobile_number) == (CallingDevice.SOFTPHONE, "")


def test_mobile_as_calling_device_needs_a_mobile_number(alice: User):
    # when
    with pytest.raises(ValidationError) as error:
        services.update_preferences(user=alice, calling_device=CallingDevice.MOBILE, mobile_number="")

    # then
    assert messages_of(error) == {"mobile_number": ["Enter your mobile number to use Mobile as your calling device."]}
    assert User.objects.get(pk=alice.pk).calling_device == CallingDevice.SOFTPHONE


def test_the_mobile_number_cannot_be_cleared_while_mobile_is_the_calling_device(alice: User):
    # given
    services.update_preferences(user=alice, calling_device=CallingDevice.MOBILE, mobile_number="416 555 0177")

    # when
    with pytest.raises(ValidationError) as error:
        services.update_preferences(user=alice, mobile_number="  ")

    # then
    assert messages_of(error) == {"mobile_number": ["Enter your mobile number to use Mobile as your calling device."]}
    stored = User.objects.get(pk=alice.pk)
    assert (stored.calling_device, stored.mobile_number) == (CallingDevice.MOBILE, "+14165550177")


def test_complete_profile_records_the_first_completion_only(alice: User):
    # given
    services.complete_profile(user=alice, calling_device=CallingDevice.SOFTPHONE, mobile_number="", now=NOW)

    # when
    services.complete_profile(
        user=alice, calling_device=CallingDevice.DESKPHONE, mobile_number="", now=NOW + timedelta(days=1)
    )

    # then
    stored = User.objects.get(pk=alice.pk)
    assert stored.profile_completed_at == NOW
    assert stored.calling_device == CallingDevice.DESKPHONE


# login_with_password


def test_login_with_the_right_password_returns_the_user(alice: User):
    # when
    result = login(" Alice@Acme.Example ", PASSWORD, now=NOW)

    # then
    assert result == services.LoginResult(user=alice)


def test_login_with_a_wrong_password_is_refused_and_counted(alice: User):
    # when
    result = login("alice@acme.example", "wrong password", now=NOW)

    # then
    assert result == services.LoginResult(user=None, error="The e-mail address or password is not correct.")
    assert LoginThrottle.objects.get(key="email:alice@acme.example").failure_count == 1
    assert LoginThrottle.objects.get(key="address:203.0.113.7").failure_count == 1


def test_login_with_an_unknown_email_gets_the_same_answer_as_a_wrong_password(alice: User):
    # when
    result = login("nobody@acme.example", PASSWORD, now=NOW)

    # then
    assert result == services.LoginResult(user=None, error="The e-mail address or password is not correct.")
    assert LoginThrottle.objects.get(key="email:nobody@acme.example").failure_count == 1


def test_an_inactive_user_cannot_log_in(alice: User):
    # given
    User.objects.filter(pk=alice.pk).update(is_active=False)

    # when
    result = login("alice@acme.example", PASSWORD, now=NOW)

    # then
    assert result == services.LoginResult(user=None, error="The e-mail address or password is not correct.")


def test_an_operator_without_organisation_cannot_log_in_here(db: None):
    # given
    User.objects.create_superuser("operator@toc.example", PASSWORD)

    # when
    result = login("operator@toc.example", PASSWORD, now=NOW)

    # then
    assert result == services.LoginResult(user=None, error="The e-mail address or password is not correct.")


def test_a_success_clears_the_failures_of_the_email(alice: User):
    # given
    fail_logins("alice@acme.example", 2, now=NOW)

    # when
    result = login("alice@acme.example", PASSWORD, now=NOW)

    # then
    assert result.user == alice
    throttle = LoginThrottle.objects.get(key="email:alice@acme.example")
    assert (throttle.failure_count, throttle.next_attempt_at, throttle.locked_until) == (0, None, None)


def test_after_n_failures_the_next_attempt_must_wait_even_with_the_right_password(alice: User, settings):
    # given
    fail_logins("alice@acme.example", settings.LOGIN_FAILURES_BEFORE_DELAY, now=NOW)

    # when
    result = login("alice@acme.example", PASSWORD, now=NOW)

    # then the attempt is refused without checking the password or counting it
    assert result == services.LoginResult(
        user=None, error="Too many failed sign-ins. Wait 1 second(s) and try again.", retry_after_seconds=1
    )
    throttle = LoginThrottle.objects.get(key="email:alice@acme.example")
    assert throttle.failure_count == settings.LOGIN_FAILURES_BEFORE_DELAY
    assert throttle.next_attempt_at == NOW + timedelta(seconds=1)


def test_each_further_failure_doubles_the_wait(alice: User, settings):
    # given
    fail_logins("alice@acme.example", settings.LOGIN_FAILURES_BEFORE_DELAY, now=NOW)
    fail_logins("alice@acme.example", 1, now=NOW + timedelta(seconds=1))

    # when
    result = login("alice@acme.example", PASSWORD, now=NOW + timedelta(seconds=1))

    # then
    assert result == services.LoginResult(
        user=None, error="Too many failed sign-ins. Wait 2 second(s) and try again.", retry_after_seconds=2
    )


def test_after_the_wait_the_right_password_works_again(alice: User, settings):
    # given
    fail_logins("alice@acme.example", settings.LOGIN_FAILURES_BEFORE_DELAY, now=NOW)

    # when
    result = login("alice@acme.example", PASSWORD, now=NOW + timedelta(seconds=1))

    # then
    assert result.user == alice


def lock_out(email: str, times: int) -> datetime:
    """Fail `times` times, each after the previous delay has passed; return the last failure's time."""
    moment = NOW
    for attempt in range(times):
        if attempt:
            moment += timedelta(seconds=61)
        assert login(email, "wrong password", now=moment).error == "The e-mail address or password is not correct."
    return moment


def test_after_m_failures_the_email_is_locked(alice: User, settings):
    # given
    last_failure = lock_out("alice@acme.example", settings.LOGIN_FAILURES_BEFORE_LOCK)

    # when
    result = login("alice@acme.example", PASSWORD, now=last_failure + timedelta(seconds=61))

    # then
    assert result == services.LoginResult(
        user=None,
        error="Too many failed sign-ins. This account is locked for 14 more minute(s).",
        retry_after_seconds=settings.LOGIN_LOCK_SECONDS - 61,
    )
    throttle = LoginThrottle.objects.get(key="email:alice@acme.example")
    assert throttle.failure_count == settings.LOGIN_FAILURES_BEFORE_LOCK
    assert throttle.locked_until == last_failure + timedelta(seconds=settings.LOGIN_LOCK_SECONDS)


def test_a_lock_ends_after_the_lock_time(alice: User, settings):
    # given
    last_failure = lock_out("alice@acme.example", settings.LOGIN_FAILURES_BEFORE_LOCK)

    # when
    result = login("alice@acme.example", PASSWORD, now=last_failure + timedelta(seconds=settings.LOGIN_LOCK_SECONDS))

    # then
    assert result.user == alice
    throttle = LoginThrottle.objects.get(key="email:alice@acme.example")
    assert (throttle.failure_count, throttle.locked_until) == (0, None)


def test_a_wrong_password_after_the_lock_ended_does_not_lock_again_at_once(alice: User, settings):
    # given
    last_failure = lock_out("alice@acme.example", settings.LOGIN_FAILURES_BEFORE_LOCK)
    after_lock = last_failure + timedelta(seconds=settings.LOGIN_LOCK_SECONDS)

    # when
    result = login("alice@acme.example", "wrong password", now=after_lock)

    # then
    assert result.error == "The e-mail address or password is not correct."
    assert LoginThrottle.objects.get(key="email:alice@acme.example").failure_count == 1
    assert login("alice@acme.example", PASSWORD, now=after_lock).user == alice


def test_a_locked_email_does_not_lock_a_colleague_on_the_same_address(alice: User, bob: User, settings):
    # given
    last_failure = lock_out("alice@acme.example", settings.LOGIN_FAILURES_BEFORE_LOCK)

    # when
    result = login("bob@acme.example", PASSWORD, now=last_failure)

    # then
    assert result.user == bob


def test_an_office_address_forgets_old_failures(alice: User, bob: User, settings):
    # given many colleagues' typos from one address over a long time, each followed by a success
    moment = NOW
    for _ in range(settings.LOGIN_FAILURES_BEFORE_LOCK * 10):
        login("bob@acme.example", "typo", now=moment)
        login("bob@acme.example", PASSWORD, now=moment)
        moment += timedelta(hours=1)

    # when
    typo = login("alice@acme.example", "typo", now=moment)
    result = login("alice@acme.example", PASSWORD, now=moment)

    # then
    assert typo.error == "The e-mail address or password is not correct."
    assert result.user == alice
    assert LoginThrottle.objects.get(key="address:203.0.113.7").failure_count == 1
