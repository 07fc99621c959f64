"""NATS subject rules, checked before anything touches NATS."""

import re

_TOKEN_FORBIDDEN = re.compile(r"[\s\x00]")
MAX_SUBJECT_LENGTH = 1024


class InvalidSubject(ValueError):
    pass


def _tokens(subject: str, what: str) -> list[str]:
    if not isinstance(subject, str) or not subject:
        raise InvalidSubject(f"{what} is empty")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise InvalidSubject(f"{what} is longer than {MAX_SUBJECT_LENGTH} characters")
    if _TOKEN_FORBIDDEN.search(subject):
        raise InvalidSubject(f"{what} {subject!r} contains whitespace")
    tokens = subject.split(".")
    if any(token == "" for token in tokens):
        raise InvalidSubject(f"{what} {subject!r} has an empty token (two dots, or a dot at an end)")
    return tokens


def validate_publish_subject(subject: str) -> str:
    """A concrete subject to publish to: no wildcards, no empty tokens, no whitespace."""
    tokens = _tokens(subject, "subject")
    for token in tokens:
        if token in ("*", ">") or "*" in token or ">" in token:
            raise InvalidSubject(f"subject {subject!r} contains a wildcard; publish to a concrete subject")
    return subject


def validate_filter_subject(subject: str) -> str:
    """A subject filter: '*' matches one token, '>' the rest and only as the last token."""
    tokens = _tokens(subject, "subject filter")
    for index, token in enumerate(tokens):
        if token == ">" and index != len(tokens) - 1:
            raise InvalidSubject(f"subject filter {subject!r}: '>' may only be the last token")
        if token not in ("*", ">") and ("*" in token or ">" in token):
            raise InvalidSubject(f"subject filter {subject!r}: a wildcard must be a whole token")
    return subject


def subject_matches(filter_subject: str, subject: str) -> bool:
    """Whether a concrete subject matches a filter (NATS wildcard rules)."""
    pattern, tokens = filter_subject.split("."), subject.split(".")
    for index, token in enumerate(pattern):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or (token != "*" and token != tokens[index]):
            return False
    return len(tokens) == len(pattern)
