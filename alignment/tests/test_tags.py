"""The template filters that choose how people and codes are named on every screen."""

from django.contrib.auth.models import User

from alignment.templatetags.alignment_tags import person, words


def test_a_person_is_their_full_name_or_else_their_username():
    assert person(User(username="hsato", first_name="Hanako", last_name="Sato")) == "Hanako Sato"
    assert person(User(username="hsato")) == "hsato"
    assert person(None) == ""


def test_codes_are_said_in_words():
    assert words("demo_request") == "Demo request"
    assert words("pricing-page") == "Pricing page"
    assert words("") == ""
