"""Device credentials (scope ``admin``): create or rotate the MQTT password of a vehicle's device, or remove it.

The broker's device accounts are the vehicle ids (``access.device_credentials``, the same
script an operator runs: ``services/mqtt_device.sh``). The password is in this answer only
(``Cache-Control: no-store``); the broker keeps its hash. 409 when the broker runs without device
passwords (``MQTT_AUTH=off``). The vehicle must be in the registry (files + ``fleet.config``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Response, Security
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from access import device_credentials
from api.context import ApiContext, get_context
from api.problems import Problem, not_found
from api.registry import registry
from api.security import Principal, current_principal

router = APIRouter(tags=["registry"])
Admin = Annotated[Principal, Security(current_principal, scopes=["admin"])]
Context = Annotated[ApiContext, Depends(get_context)]
T = TypeVar("T")


class DeviceCredentials(BaseModel):
    vehicle_id: str
    username: str = Field(description="MQTT user name (the broker also makes it the client id)")
    password: str = Field(description="shown once; store it on the device")
    topic: str = Field(description="the only topic the device may publish to")
    rotated: bool = Field(description="true when a previous password existed: it stopped working")


def _changed(ctx: ApiContext, vehicle_id: str, change: Callable[[Path, str], T]) -> T:
    """Run a change of the vehicle's device account; its errors as problem documents."""
    if vehicle_id not in registry(ctx).vehicles:
        raise not_found(f"no vehicle {vehicle_id!r}")
    try:
        return change(ctx.settings.mqtt_var_dir, vehicle_id)
    except device_credentials.DeviceAuthOff as exc:
        raise Problem(409, "device-auth-off", str(exc)) from exc
    except device_credentials.DeviceCredentialError as exc:
        raise Problem(400, "invalid-request", str(exc)) from exc


@router.post("/vehicles/{vehicle_id}/device-credentials", status_code=201, response_model=DeviceCredentials,
             summary="Create or rotate the vehicle's MQTT device password (admin)",
             responses={404: {"description": "not in the registry"}, 409: {"description": "the broker runs with MQTT_AUTH=off"}})
def issue_credentials(vehicle_id: str, principal: Admin, ctx: Context) -> JSONResponse:
    cred = _changed(ctx, vehicle_id, device_credentials.issue)
    body = DeviceCredentials(vehicle_id=vehicle_id, username=cred.username, password=cred.password,
                             topic=f"fleet/{vehicle_id}/telemetry", rotated=cred.rotated)
    return JSONResponse(body.model_dump(), status_code=201, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.delete("/vehicles/{vehicle_id}/device-credentials", status_code=204, summary="Remove the device's password (admin)",
               responses={404: {"description": "no such vehicle, or it has no device password"}})
def revoke_credentials(vehicle_id: str, principal: Admin, ctx: Context) -> Response:
    if not _changed(ctx, vehicle_id, device_credentials.revoke):
        raise not_found(f"vehicle {vehicle_id!r} has no device password")
    return Response(status_code=204)
