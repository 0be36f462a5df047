"""Alipay- and WeChat-Pay-v3-like gateways for tests/it/signed.rs, written independently of
payprobe with Debian's python3-cryptography (installed by tests/run.sh).

Usage: signed_gateway.py DIR. Writes every key and certificate the tests configure into DIR
(merchant keys in PKCS#8, PKCS#1 and bare base64; Alipay public key and certificates;
WeChat Pay public key, platform certificates, APIv3 key, a Stripe restricted key), the certificate SNs computed the
way Alipay's SDKs compute them (expected.json), then serves on 127.0.0.1:0 and writes the
port to DIR/port. Each request's merchant signature is checked (as the real gateways do) and
logged to DIR/requests.jsonl; the answer is signed with the provider key. DIR/mode (JSON,
read per request) says how to answer: {"answer": "good" | "wrong_key" | "missing" |
"tamper" | "server_error", "wechat_key": "public_key" | "platform" | "rotated",
"clock_offset": seconds}; Alipay also "server_error_unsigned" and "slash_escaped".
"""

import base64, datetime, hashlib, json, os, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa, ec, padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DIR = sys.argv[1]
P = lambda name: os.path.join(DIR, name)
PUB_KEY_ID = "PUB_KEY_ID_0112345678902024120500118800000000"
MCHID, MERCHANT_SERIAL = "1900000001", "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
APIV3 = "0123456789abcdefABCDEF0123456789"


def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write(name, data, mode=0o600):
    with open(P(name), "wb") as f:
        f.write(data)
    os.chmod(P(name), mode)


def pem_priv(k, fmt):
    return k.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def pem_pub(k):
    return k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def name(cn, org="Ant Financial"):
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Certification Authority"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def cert(subject, subject_key, issuer, issuer_key, days=365, ca=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    return b.sign(issuer_key, hashes.SHA256())


def cert_sn(c):
    """Alipay's SN: MD5 of the issuer, last RDN first, and the decimal serial."""
    issuer = ",".join(f"{a.rfc4514_attribute_name}={a.value}"
                      for rdn in reversed(c.issuer.rdns) for a in rdn)
    return hashlib.md5((issuer + str(c.serial_number)).encode()).hexdigest()


def sign(k, data):
    return base64.b64encode(k.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(pub, data, sig):
    try:
        pub.verify(base64.b64decode(sig), data, padding.PKCS1v15(), hashes.SHA256())
        return True
    except Exception:
        return False


merchant, alipay_key, other, platform_old, platform_new = key(), key(), key(), key(), key()
write("merchant_pkcs8.pem", pem_priv(merchant, serialization.PrivateFormat.PKCS8))
write("merchant_pkcs1.pem", pem_priv(merchant, serialization.PrivateFormat.TraditionalOpenSSL))
der = merchant.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
write("merchant.b64", base64.b64encode(der) + b"\n")
write("merchant_shared.pem", pem_priv(merchant, serialization.PrivateFormat.PKCS8), 0o644)
write("other_pkcs8.pem", pem_priv(other, serialization.PrivateFormat.PKCS8))
write("alipay_public.pem", pem_pub(alipay_key), 0o644)
spki = alipay_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
write("alipay_public.b64", base64.b64encode(spki), 0o644)
write("other_public.pem", pem_pub(other), 0o644)
root_key, root2_key, ec_root_key = key(), key(), ec.generate_private_key(ec.SECP256R1())
root = cert(name("Ant Financial Certification Authority R1"), root_key, name("Ant Financial Certification Authority R1"), root_key, ca=True)
root2 = cert(name("Ant Financial Certification Authority R2"), root2_key, name("Ant Financial Certification Authority R2"), root2_key, ca=True)
ec_root = cert(name("Ant Financial Certification Authority E1"), ec_root_key, name("Ant Financial Certification Authority E1"), ec_root_key, ca=True)
app_cert = cert(name("2021000000000001", "payprobe test merchant"), merchant, root.subject, root_key, days=20)
alipay_cert = cert(name("Alipay public key"), alipay_key, root.subject, root_key, days=200)
pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
write("app_cert.crt", pem(app_cert), 0o644)
write("alipay_cert.crt", pem(alipay_cert), 0o644)
write("alipay_root.crt", pem(root) + pem(ec_root) + pem(root2), 0o644)
write("wechat_public.pem", pem_pub(platform_old), 0o644)
wx_old = cert(name("Tenpay.com Root CA", "Tenpay.com"), platform_old, name("Tenpay.com Root CA", "Tenpay.com"), root_key, days=100)
wx_new = cert(name("Tenpay.com Root CA", "Tenpay.com"), platform_new, name("Tenpay.com Root CA", "Tenpay.com"), root_key, days=300)
write("apiv3.key", APIV3.encode() + b"\n")
STRIPE_KEY = "rk_test_" + os.urandom(12).hex()
write("stripe.key", STRIPE_KEY.encode() + b"\n")
expected = {
    "app_cert_sn": cert_sn(app_cert),
    "alipay_root_cert_sn": cert_sn(root) + "_" + cert_sn(root2),
    "alipay_cert_sn": cert_sn(alipay_cert),
    "platform_old": format(wx_old.serial_number, "X"),
    "platform_new": format(wx_new.serial_number, "X"),
    "pub_key_id": PUB_KEY_ID, "mchid": MCHID, "serial_no": MERCHANT_SERIAL,
}
write("expected.json", json.dumps(expected).encode(), 0o644)


def mode():
    try:
        with open(P("mode")) as f:
            return json.load(f)
    except Exception:
        return {}


def log(entry):
    with open(P("requests.jsonl"), "a") as f:
        f.write(json.dumps(entry) + "\n")


def encrypted(c):
    nonce, aad = os.urandom(6).hex(), "certificate"
    ct = AESGCM(APIV3.encode()).encrypt(nonce.encode(), pem(c), aad.encode())
    return {"serial_no": format(c.serial_number, "X"), "effective_time": "2024-01-01T00:00:00+08:00",
            "expire_time": getattr(c, "not_valid_after_utc", None) and c.not_valid_after_utc.isoformat() or c.not_valid_after.isoformat() + "+00:00",
            "encrypt_certificate": {"algorithm": "AEAD_AES_256_GCM", "nonce": nonce,
                                    "associated_data": aad, "ciphertext": base64.b64encode(ct).decode()}}


class Gateway(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # Alipay: gateway.do
        m = mode()
        form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode(), keep_blank_values=True))
        sig = form.pop("sign", "")
        content = "&".join(f"{k}={v}" for k, v in sorted(form.items()) if v)
        ts = datetime.datetime.strptime(form.get("timestamp", "1970-01-01 00:00:00"), "%Y-%m-%d %H:%M:%S")
        skew = ts.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=8))).timestamp() - time.time()
        checks = {"signature": verify(merchant.public_key(), content.encode(), sig), "sign_type": form.get("sign_type"),
                  "skew": skew, "method": form.get("method"), "biz_content": form.get("biz_content"),
                  "app_cert_sn": form.get("app_cert_sn"), "alipay_root_cert_sn": form.get("alipay_root_cert_sn")}
        log({"provider": "alipay", "sig": sig, **checks})
        if not checks["signature"]:
            body = {"error_response": {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"}}
            return self.reply(200, json.dumps(body, ensure_ascii=False).encode())
        if m.get("answer") in ("server_error", "server_error_unsigned"):
            inner = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SYSTEM_ERROR", "sub_msg": "系统错误/重试"}
        else:
            inner = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在", "out_trade_no": "a/b"}
        text = json.dumps(inner, ensure_ascii=False, separators=(", ", ": "))
        signer = other if m.get("answer") == "wrong_key" else alipay_key
        signature = sign(signer, text.encode())
        if m.get("answer") == "tamper":
            text = text.replace("交易不存在", "交易不存在!")
        if m.get("answer") == "slash_escaped":
            signature = sign(signer, text.replace("a/b", "a/b").encode())
            text = text.replace("a/b", "a\\/b")
        parts = [f'"alipay_trade_query_response": {text}']
        if m.get("answer") not in ("missing", "server_error_unsigned"):
            parts.append(f'"sign": "{signature}"')
        if form.get("app_cert_sn"):
            parts.append(f'"alipay_cert_sn": "{m.get("alipay_cert_sn", expected["alipay_cert_sn"])}"')
        self.reply(200, ("{" + ", ".join(parts) + "}").encode())

    def do_GET(self):  # WeChat Pay v3, Stripe
        m = mode()
        if self.path.startswith("/v1/"):
            ok = self.headers.get("Authorization") == "Bearer " + STRIPE_KEY
            log({"provider": "stripe", "auth_ok": ok, "version": self.headers.get("Stripe-Version"), "path": self.path})
            if not ok:
                err = {"error": {"message": "Invalid API Key provided", "type": "invalid_request_error"}}
                return self.reply(401, json.dumps(err).encode())
            err = {"error": {"code": "resource_missing", "message": "No such charge", "param": "id", "type": "invalid_request_error"}}
            return self.reply(404, json.dumps(err).encode(), [("Stripe-Version", self.headers.get("Stripe-Version", "2020-08-27"))])
        auth = self.headers.get("Authorization", "")
        scheme, _, params = auth.partition(" ")
        kv = dict(p.split("=", 1) for p in params.split(",") if "=" in p)
        kv = {k.strip(): v.strip().strip('"') for k, v in kv.items()}
        message = f"GET\n{self.path}\n{kv.get('timestamp')}\n{kv.get('nonce_str')}\n\n".encode()
        ok = (scheme == "WECHATPAY2-SHA256-RSA2048" and kv.get("mchid") == MCHID and kv.get("serial_no") == MERCHANT_SERIAL
              and verify(merchant.public_key(), message, kv.get("signature", "")))
        skew = int(kv.get("timestamp", "0")) - time.time()
        log({"provider": "wechatpay", "signature": ok, "sig": kv.get("signature"), "skew": skew, "path": self.path, "accept": self.headers.get("Accept")})
        if not ok or abs(skew) > 300:
            return self.reply(401, json.dumps({"code": "SIGN_ERROR", "message": "签名错误"}, ensure_ascii=False).encode())
        rotated = m.get("wechat_key") == "rotated"
        if self.path.startswith("/v3/certificates"):
            certs = [wx_old, wx_new] if rotated else [wx_old]
            body = json.dumps({"data": [encrypted(c) for c in certs]}).encode()
            status, key_, serial = 200, (platform_new if rotated else platform_old), format((wx_new if rotated else wx_old).serial_number, "X")
        else:
            code = "SYSTEM_ERROR" if m.get("answer") == "server_error" else "ORDER_NOT_EXIST"
            status = 500 if code == "SYSTEM_ERROR" else 404
            body = json.dumps({"code": code, "message": "订单不存在"}, ensure_ascii=False).encode()
            if m.get("wechat_key") == "public_key":
                key_, serial = platform_old, PUB_KEY_ID
            else:
                key_, serial = (platform_new, expected["platform_new"]) if rotated else (platform_old, expected["platform_old"])
        if m.get("answer") == "wrong_key":
            key_ = other
        ts, nonce = str(int(time.time() + m.get("clock_offset", 0))), os.urandom(16).hex()
        headers = [("Wechatpay-Serial", serial), ("Wechatpay-Timestamp", ts), ("Wechatpay-Nonce", nonce)]
        sig = sign(key_, f"{ts}\n{nonce}\n".encode() + body + b"\n")
        if m.get("answer") != "missing":
            headers.append(("Wechatpay-Signature", sig))
        if m.get("answer") == "tamper" and not self.path.startswith("/v3/certificates"):
            body = body.replace(b"ORDER_NOT_EXIST", b"ORDER_NOT_EXIS7")
        self.reply(status, body, headers)


server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
with open(P("port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(P("port.tmp"), P("port"))
server.serve_forever()
