"""The audit log's action names: one spelling each, stored in ``audit_log.action``.

A ``StrEnum``: an action compares equal to its stored string, so rows read back as plain
strings still key the labels.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    DRIVER_CREATE = "driver.create"
    DRIVER_UPDATE = "driver.update"
    DRIVER_DEACTIVATE = "driver.deactivate"
    DRIVER_REACTIVATE = "driver.reactivate"
    DRIVER_ROTATE = "driver.rotate"
    DRIVER_SIGNIN_LINK = "driver.signin_link"
    USER_CREATE = "user.create"
    USER_DISABLE = "user.disable"
    USER_ENABLE = "user.enable"
    USER_RESET_PASSWORD = "user.reset_password"
    USER_CHANGE_PASSWORD = "user.change_password"
    USER_TOKEN_ISSUE = "user.token_issue"
    USER_TOKEN_REVOKE = "user.token_revoke"
    USER_SIGN_OUT = "user.sign_out"
    FARE_SET = "fare.set"
    PLACE_CREATE = "place.create"
    PLACE_UPDATE = "place.update"
    PLACE_DELETE = "place.delete"
    PLACE_IMPORT = "place.import"
    ZONE_CREATE = "zone.create"
    ZONE_UPDATE = "zone.update"
    ZONE_DELETE = "zone.delete"
    ZONE_IMPORT = "zone.import"
    ALERT_ACKNOWLEDGE = "alert.acknowledge"
    ALERT_RESOLVE = "alert.resolve"


# What each action is called on the page.
LABELS: dict[str, str] = {
    Action.DRIVER_CREATE: "added driver",
    Action.DRIVER_UPDATE: "edited driver",
    Action.DRIVER_DEACTIVATE: "deactivated driver",
    Action.DRIVER_REACTIVATE: "reactivated driver",
    Action.DRIVER_ROTATE: "issued new device credentials for",
    Action.DRIVER_SIGNIN_LINK: "created a driver app sign-in link for",
    Action.USER_CREATE: "added account",
    Action.USER_DISABLE: "disabled account",
    Action.USER_ENABLE: "enabled account",
    Action.USER_RESET_PASSWORD: "reset the password of",
    Action.USER_CHANGE_PASSWORD: "changed the password of",
    Action.USER_TOKEN_ISSUE: "issued an API token for",
    Action.USER_TOKEN_REVOKE: "revoked an API token of",
    Action.USER_SIGN_OUT: "signed out every session of",
    Action.FARE_SET: "set the fare of",
    Action.PLACE_CREATE: "added place",
    Action.PLACE_UPDATE: "edited place",
    Action.PLACE_DELETE: "deleted place",
    Action.PLACE_IMPORT: "imported",
    Action.ZONE_CREATE: "added zone",
    Action.ZONE_UPDATE: "edited zone",
    Action.ZONE_DELETE: "deleted zone",
    Action.ZONE_IMPORT: "imported",
    Action.ALERT_ACKNOWLEDGE: "acknowledged alert",
    Action.ALERT_RESOLVE: "resolved alert",
}
