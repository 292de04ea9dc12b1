"""How the daemon's port (``adapters.mqtt``) and the tools' client (``adapters.mqtt_client``)
connect: the TLS parameters of an ``mqtts://`` URL, and what a refused MQTT 5 looks like."""

from __future__ import annotations

import ssl

import aiomqtt

from staffer.settings import BrokerAddress, MqttSettings

_V5_REFUSED = {1, 0x84}  # 3.1.1 "unacceptable protocol version" / v5 "unsupported protocol"


def tls_parameters(settings: MqttSettings, address: BrokerAddress) -> aiomqtt.TLSParameters | None:
    """TLS for an ``mqtts://`` address (CA bundle, optional client certificate), else None.
    Shared by the daemon's port and the tools' client (``adapters.mqtt_client``)."""
    if not address.tls:
        return None
    return aiomqtt.TLSParameters(
        ca_certs=str(settings.ca_file) if settings.ca_file else None,
        certfile=str(settings.cert_file) if settings.cert_file else None,
        keyfile=str(settings.key_file) if settings.key_file else None,
        cert_reqs=ssl.CERT_REQUIRED,
    )


def is_v5_refusal(err: aiomqtt.MqttCodeError) -> bool:
    """True when a CONNACK refused MQTT 5 itself (retry with 3.1.1)."""
    rc = err.rc
    value = getattr(rc, "value", rc)
    return value in _V5_REFUSED or "protocol version" in str(err).lower()
