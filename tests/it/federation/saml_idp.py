#!/usr/bin/python3
"""A tiny SAML 2.0 identity provider for the integration tests (tests/it/federation/saml.rs),
built on Debian's python3-pysaml2 (saml2.server.Server, xmlsec1 backend).

    /usr/bin/python3 saml_idp.py SP_METADATA_URL

It listens on 127.0.0.1, on a port the system chooses, and prints one line
`listening http://127.0.0.1:PORT` once it accepts connections. Its entityID is
`http://127.0.0.1:PORT/metadata`; it signs with tests/fixtures/saml/idp.key.pem (RSA-SHA256).
The SP's metadata is fetched from SP_METADATA_URL (an http URL or a file path) at the first
request, so the SP can be configured with this IdP's address after it started.

- GET /sso/redirect?SAMLRequest=…&RelayState=…: parses the (unsigned) HTTP-Redirect AuthnRequest
  and answers an HTML page whose form auto-submits the signed Response (Response and Assertion
  signed) to the request's AssertionConsumerServiceURL, for the user of the environment:
  SAML_IDP_USER (uid, default `alice`), SAML_IDP_NAME_ID_FORMAT (`persistent`, default, or
  `transient`). The persistent NameID is `{uid}-7c1e` (opaque, not the address); attributes uid,
  mail (`{uid}@idp.example`) and displayName (`{Uid} Example`), named by their OIDs as Shibboleth
  and most IdPs send them.
- GET /logout?user=alice[&RelayState=…]: IdP-initiated single logout: 303 to the SP's
  SingleLogoutService (from its metadata) with a LogoutRequest (the user's NameID and the
  SessionIndex of their last sign-in) signed on the Redirect binding (RSA-SHA256).
- GET /slo/redirect?SAMLResponse=…: the SP's LogoutResponse comes back here; answers
  `logout-response status=… in_response_to=…` as plain text.
"""
import base64
import html
import os
import re
import sys
import tempfile
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT, NameID
from saml2.server import Server

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "saml")


def fixture(name):
    return os.path.normpath(os.path.join(FIXTURES, name))


def build_server(base, sp_metadata):
    conf = IdPConfig()
    conf.load({
        "entityid": f"{base}/metadata",
        "service": {"idp": {
            "endpoints": {
                "single_sign_on_service": [(f"{base}/sso/redirect", BINDING_HTTP_REDIRECT)],
                "single_logout_service": [(f"{base}/slo/redirect", BINDING_HTTP_REDIRECT)],
            },
            "policy": {"default": {
                "lifetime": {"minutes": 5},
                "attribute_restrictions": None,
                "name_form": NAME_FORMAT_URI,
            }},
            "name_id_format": [NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT],
            "want_authn_requests_signed": False,
        }},
        "key_file": fixture("idp.key.pem"),
        "cert_file": fixture("idp.crt.pem"),
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "metadata": {"local": [sp_metadata]},
        "signing_algorithm": RSA_SHA256,
        "digest_algorithm": SHA256,
        "accepted_time_diff": 60,
    })
    return Server(config=conf)


class Idp:
    def __init__(self, base, sp_metadata):
        self.base = base
        self.sp_metadata = sp_metadata
        self._server = None
        self.user = os.environ.get("SAML_IDP_USER", "alice")
        self.format = {
            "persistent": NAMEID_FORMAT_PERSISTENT,
            "transient": NAMEID_FORMAT_TRANSIENT,
        }[os.environ.get("SAML_IDP_NAME_ID_FORMAT", "persistent")]
        # uid -> (NameID text, SP entityID, SessionIndex of the last sign-in)
        self.sessions = {}

    @property
    def server(self):
        if self._server is None:
            source = self.sp_metadata
            if not source.startswith(("http://", "https://")):
                self._server = build_server(self.base, source)
                return self._server
            with urllib.request.urlopen(source, timeout=10) as r:
                xml = r.read()
            fd, local = tempfile.mkstemp(suffix=".xml")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(xml)
                self._server = build_server(self.base, local)
            finally:
                os.unlink(local)
        return self._server

    def sso(self, query):
        request = self.server.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
        args = self.server.response_args(request.message, [BINDING_HTTP_POST])
        uid = self.user
        name_id = NameID(format=self.format, text=f"{uid}-7c1e")
        identity = {
            "uid": [uid],
            "mail": [f"{uid}@idp.example"],
            "displayName": [f"{uid.capitalize()} Example"],
        }
        response = self.server.create_authn_response(
            identity=identity,
            in_response_to=args["in_response_to"],
            destination=args["destination"],
            sp_entity_id=args["sp_entity_id"],
            name_id=name_id,
            sign_assertion=True,
            sign_response=True,
            sign_alg=RSA_SHA256,
            digest_alg=SHA256,
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
        )
        xml = str(response)
        index = re.search(r'SessionIndex="([^"]+)"', xml)
        self.sessions[uid] = (name_id.text, args["sp_entity_id"], index.group(1) if index else None)
        encoded = base64.b64encode(xml.encode()).decode()
        relay = query.get("RelayState", "")
        page = (
            "<!DOCTYPE html><html><head><title>Signing you in</title></head>"
            '<body onload="document.forms[0].submit()">'
            f'<form method="post" action="{html.escape(args["destination"])}">'
            f'<input type="hidden" name="SAMLResponse" value="{html.escape(encoded)}"/>'
            f'<input type="hidden" name="RelayState" value="{html.escape(relay)}"/>'
            '<noscript><button type="submit">Continue</button></noscript>'
            "</form></body></html>"
        )
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page

    def logout(self, query):
        uid = query.get("user", self.user)
        if uid not in self.sessions:
            return 404, {"Content-Type": "text/plain"}, f"no session of {uid}\n"
        name_id, sp, index = self.sessions.pop(uid)
        destinations = self.server.metadata.single_logout_service(sp, BINDING_HTTP_REDIRECT, "spsso")
        destination = destinations[0]["location"]
        _, request = self.server.create_logout_request(
            destination,
            sp,
            name_id=NameID(format=self.format, text=name_id),
            session_indexes=[index] if index else None,
            sign=False,
        )
        info = self.server.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(request),
            destination,
            relay_state=query.get("RelayState", ""),
            sign=True,
            sigalg=RSA_SHA256,
        )
        location = dict(info["headers"])["Location"]
        return 303, {"Location": location}, ""

    def slo(self, query):
        xml = zlib.decompress(base64.b64decode(query["SAMLResponse"]), -15).decode()
        status = re.search(r'StatusCode Value="([^"]+)"', xml)
        irt = re.search(r'InResponseTo="([^"]+)"', xml)
        text = (
            f"logout-response status={status.group(1) if status else '-'} "
            f"in_response_to={irt.group(1) if irt else '-'}\n"
        )
        return 200, {"Content-Type": "text/plain"}, text


def handler(idp):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            routes = {"/sso/redirect": idp.sso, "/logout": idp.logout, "/slo/redirect": idp.slo}
            route = routes.get(url.path)
            try:
                if route is None:
                    status, headers, body = 404, {"Content-Type": "text/plain"}, "not found\n"
                else:
                    status, headers, body = route(query)
            except Exception as e:  # the test reads the reason
                status, headers, body = 400, {"Content-Type": "text/plain"}, f"{type(e).__name__}: {e}\n"
                print(f"saml_idp: {self.path}: {body}", file=sys.stderr, flush=True)
            data = body.encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            print("saml_idp: " + fmt % args, file=sys.stderr, flush=True)

    return Handler


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: saml_idp.py SP_METADATA_URL")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), None)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.RequestHandlerClass = handler(Idp(base, sys.argv[1]))
    print(f"listening {base}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
