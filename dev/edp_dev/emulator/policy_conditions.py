"""moto's bucket-policy evaluation, corrected for a conditional Deny.

moto checks an S3 bucket policy on every object request, but without any request context (no condition
keys), and it treats a condition operator it does not implement (Bool, StringLike, ...) as met. So the
platform's TLS-only statement (Deny s3:* when `aws:SecureTransport` is "false") becomes an unconditional
Deny, and every PutObject, GetObject and DeleteObjects on such a bucket is refused.

In IAM a condition on a key the request does not carry is not met, except under an `...IfExists` operator
or `Null: true`; and a Deny whose condition is not met does not apply. This patch applies exactly that to
Deny statements evaluated without context, so a module keeps its TLS-only policy and still works against
the emulator. Allow statements, and evaluations that do carry context, keep moto's own logic.
"""

from __future__ import annotations


def holds_without_context(conditions: dict) -> bool:
    """Whether a Condition block is met by a request that carries none of its keys."""
    for operator, keys in conditions.items():
        if operator.endswith("IfExists"):
            continue
        if operator == "Null":
            values = [v for expected in keys.values() for v in (expected if isinstance(expected, list) else [expected])]
            if all(str(v).lower() == "true" for v in values):
                continue
        return False
    return True


def install() -> None:
    """Patch moto's statement evaluation (idempotent)."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    original = IAMPolicyStatement.is_action_permitted
    if getattr(original, "edp_patched", False):
        return

    def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
        result = original(self, action, resource, principal, incoming_condition_values)
        statement = self._statement
        if (result == PermissionResult.DENIED and statement.get("Effect") == "Deny" and statement.get("Condition")
                and not incoming_condition_values and not holds_without_context(statement["Condition"])):
            return PermissionResult.NEUTRAL
        return result

    is_action_permitted.edp_patched = True
    IAMPolicyStatement.is_action_permitted = is_action_permitted
