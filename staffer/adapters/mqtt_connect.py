"""How the daemon's port (``adapters.mqtt``) and the tools' client (``adapters.mqtt_client``)
connect: the daemon's client (identity, will, session expiry, TLS, no Nagle), the TLS
parameters of an ``mqtts://`` URL, and what a refused MQTT 5 looks like."""

from __future__ import annotations

import logging
import socket
import ssl

import aiomqtt
from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from staffer.adapters.mqtt_policy import broker_credentials
from staffer.adapters.port import Session
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


def new_client(
    s: MqttSettings, address: BrokerAddress, session: Session, status_topic: str | None, v5: bool
) -> aiomqtt.Client:
    """The daemon's aiomqtt client: its client id and last will, clean or persistent
    session (``[mqtt] session_expiry_s``), keepalive, TLS, Nagle off; ``v5`` False after an
    ``auto`` fallback to 3.1.1."""
    username, password = broker_credentials(s, address)
    will = None
    if status_topic:
        will = aiomqtt.Will(status_topic, session.offline_payload, qos=1, retain=True)
    return aiomqtt.Client(
        address.host,
        address.port,
        username=username,
        password=password,
        identifier=session.client_id,
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        will=will,
        clean_session=None if v5 else s.session_expiry_s == 0,
        clean_start=(s.session_expiry_s == 0) if v5 else MQTT_CLEAN_START_FIRST_ONLY,
        properties=_connect_properties(s, v5),
        keepalive=int(max(1, s.keepalive_s)),
        tls_params=tls_parameters(s, address),
        timeout=10,
        max_inflight_messages=1000,
        socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),  # no Nagle delay
        logger=logging.getLogger("mqtt"),
    )


def _connect_properties(s: MqttSettings, v5: bool) -> Properties | None:
    """MQTT 5 CONNECT properties: the session expiry (``[mqtt] session_expiry_s``)."""
    if not v5 or s.session_expiry_s == 0:
        return None
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = s.session_expiry_s
    return props
