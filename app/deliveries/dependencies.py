"""What the outbound webhook routes take from the app: the networks they may reach."""

from typing import Annotated

from fastapi import Depends, Request

from app.deliveries.addresses import Network


def allowed_networks(request: Request) -> list[Network]:
    """`CRMC_WEBHOOK_ALLOWED_NETWORKS`: private networks endpoints may nevertheless use."""
    return list(request.app.state.settings.webhook_allowed_networks)


AllowedNetworks = Annotated[list[Network], Depends(allowed_networks)]
