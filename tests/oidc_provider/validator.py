"""The claims the test provider puts in ID tokens and userinfo, shaped like Microsoft Entra's."""

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

TENANT_GROUP_PREFIX = "tenant:"


class TenantClaimsValidator(OAuth2Validator):
    # DOT only releases claims mapped to a granted scope; `tid` comes with `openid`, as in Entra.
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "tid": "openid"}

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        claims: dict[str, Any] = {
            "email": user.email,
            "email_verified": True,
            "given_name": user.first_name,
            "family_name": user.last_name,
            "name": f"{user.first_name} {user.last_name}".strip(),
            "preferred_username": user.username,
        }
        for name in user.groups.values_list("name", flat=True):
            if name.startswith(TENANT_GROUP_PREFIX):
                claims["tid"] = name.removeprefix(TENANT_GROUP_PREFIX)
        return claims
