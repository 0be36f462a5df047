"""A merchant's client for the demo's Alipay- and WeChat-Pay-like gateways (tests/it/demo_signing.rs),
written independently of payprobe with Debian's python3-cryptography: it signs requests with the
merchant keys the demo wrote, verifies the answers' signatures with the provider keys it publishes
(Alipay's public key file; WeChat Pay's platform certificates from /v3/certificates, decrypted
with the APIv3 key), and sends badly signed and unsigned requests.

Usage: demo_client.py DEMO_DIR ALIPAY_PORT WECHAT_PORT STRIPE_PORT. Prints one JSON object of
findings. (Stripe signs nothing: its gateway is asked with the restricted key and without.)
"""

import base64, datetime, http.client, json, os, ssl, sys, time, urllib.parse
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DIR, ALIPAY_PORT, WECHAT_PORT, STRIPE_PORT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
P = lambda n: os.path.join(DIR, n)
CTX = ssl.create_default_context(cafile=P("demo-ca.pem"))
MCHID, SERIAL = "1900000001", "3775B6A45ACD588826D15E583A95F5DD21EB1F47"


def load_key(name):
    with open(P(name), "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def sign(key, data):
    return base64.b64encode(key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()


def verifies(pub, data, sig):
    try:
        pub.verify(base64.b64decode(sig), data, padding.PKCS1v15(), hashes.SHA256())
        return True
    except Exception:
        return False


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPSConnection("127.0.0.1", port, context=CTX, timeout=10)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


merchant_ali = load_key("alipay_app_private_key.pem")
with open(P("alipay_public_key.pem"), "rb") as f:
    alipay_pub = serialization.load_pem_public_key(f.read())
stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def alipay(key, with_sign=True):
    beijing = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8)))
    params = {"app_id": "2021000000000001", "method": "alipay.trade.query", "format": "JSON",
              "charset": "utf-8", "sign_type": "RSA2", "version": "1.0",
              "timestamp": beijing.strftime("%Y-%m-%d %H:%M:%S"),
              "biz_content": json.dumps({"out_trade_no": "python-nonexistent-order"})}
    content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if v)
    if with_sign:
        params["sign"] = sign(key, content.encode())
    status, _, body = request(ALIPAY_PORT, "POST", "/gateway.do", urllib.parse.urlencode(params),
                              {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
    text = body.decode()
    top = json.loads(text)
    member = next(k for k in top if k.endswith("_response"))
    # The exact text of the member, as received: from after its key to before `,"sign"` (or
    # the closing brace), as Alipay's SDKs cut it.
    start = text.index(f'"{member}":') + len(member) + 3
    end = text.rindex(',"sign"') if "sign" in top else text.rindex("}")
    inner = text[start:end]
    return {"status": status, "member": member, "sub_code": top[member].get("sub_code"),
            "signed": "sign" in top,
            "verified": "sign" in top and verifies(alipay_pub, inner.encode(), top["sign"])}


merchant_wx = load_key("wechatpay_apiclient_key.pem")
with open(P("wechatpay_apiv3.key"), "rb") as f:
    APIV3 = f.read().strip()


def wechat(path, key):
    ts, nonce = str(int(time.time())), os.urandom(16).hex()
    sig = sign(key, f"GET\n{path}\n{ts}\n{nonce}\n\n".encode())
    auth = (f'WECHATPAY2-SHA256-RSA2048 mchid="{MCHID}",nonce_str="{nonce}",signature="{sig}",'
            f'timestamp="{ts}",serial_no="{SERIAL}"')
    return request(WECHAT_PORT, "GET", path, headers={"Authorization": auth, "Accept": "application/json"})


def answer_verifies(headers, body, certs):
    cert = certs.get(headers.get("wechatpay-serial", ""))
    if cert is None or "wechatpay-signature" not in headers:
        return False
    msg = f'{headers["wechatpay-timestamp"]}\n{headers["wechatpay-nonce"]}\n'.encode() + body + b"\n"
    return verifies(cert.public_key(), msg, headers["wechatpay-signature"])


out = {"alipay_good": alipay(merchant_ali), "alipay_wrong_key": alipay(stranger),
       "alipay_unsigned": alipay(merchant_ali, with_sign=False)}

status, headers, body = wechat("/v3/certificates", merchant_wx)
certs = {}
for item in json.loads(body)["data"]:
    e = item["encrypt_certificate"]
    pem = AESGCM(APIV3).decrypt(e["nonce"].encode(), base64.b64decode(e["ciphertext"]),
                                e["associated_data"].encode())
    c = x509.load_pem_x509_certificate(pem)
    certs[format(c.serial_number, "X")] = c
out["wechat_certificates"] = {"status": status, "serials": sorted(certs),
                              "listed": sorted(i["serial_no"] for i in json.loads(body)["data"]),
                              "verified": answer_verifies(headers, body, certs)}
path = f"/v3/pay/transactions/out-trade-no/python-nonexistent-order?mchid={MCHID}"
status, headers, body = wechat(path, merchant_wx)
out["wechat_good"] = {"status": status, "code": json.loads(body).get("code"),
                      "serial": headers.get("wechatpay-serial"),
                      "skew": int(headers.get("wechatpay-timestamp", "0")) - int(time.time()),
                      "verified": answer_verifies(headers, body, certs)}
status, headers, body = wechat(path, stranger)
out["wechat_wrong_key"] = {"status": status, "code": json.loads(body).get("code"),
                           "signed": "wechatpay-signature" in headers}
status, headers, body = request(WECHAT_PORT, "GET", path)
out["wechat_unsigned"] = {"status": status, "code": json.loads(body).get("code"),
                          "signed": "wechatpay-signature" in headers}
with open(P("stripe_restricted.key")) as f:
    STRIPE_KEY = f.read().strip()
for name, key in [("stripe_good", STRIPE_KEY), ("stripe_wrong_key", "rk_test_not_the_merchants")]:
    status, headers, body = request(STRIPE_PORT, "GET", "/v1/charges/ch_python_nonexistent",
                                    headers={"Authorization": "Bearer " + key, "Stripe-Version": "2024-06-20"})
    err = json.loads(body)["error"]
    out[name] = {"status": status, "code": err.get("code"), "type": err.get("type"),
                 "version": headers.get("stripe-version"), "key_echoed": key in body.decode()}
print(json.dumps(out))
