/*
 * The registration protocol (DESIGN §2, docs/registration.md): the DER
 * messages, their CMS signatures and sealed keys, certificate identity
 * rules and the TCP framing shared by lethe-kdc's registrar and
 * lethe-agent.
 *
 * API: ready
 *
 * Conventions: every fallible function returns a lethe_status and writes
 * its results through out-parameters; heap results are released by the
 * caller with free() unless a dedicated function is named. Principals
 * are canonical text "comp/comp@REALM" (MIT escapes, as
 * kt_principal_unparse writes them); times are seconds since 1970.
 */
#ifndef LETHE_REGISTRAR_REGISTRAR_H
#define LETHE_REGISTRAR_REGISTRAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "base/bytes.h"
#include "base/conf.h"
#include "base/status.h"

#define REG_NONCE_LEN           16u
#define REG_MAX_KEYS            8u       /* keys in one registration */
#define REG_MAX_MESSAGE         65536u   /* bytes of one framed message */
#define REG_MAX_NAME_LEN        1024u    /* bytes of "a/b@REALM" */
#define REG_MAX_CALLBACK_LEN    300u     /* bytes of "host:port" */
#define REG_MAX_TEXT_LEN        255u     /* bytes of a reply's text */
#define REG_MAX_KEY_LEN         64u      /* bytes of one Kerberos key */
#define REG_SPKI_HEX_LEN        64u      /* lowercase hex of a SPKI SHA-256 */
#define REG_DEFAULT_TIMEOUT_MS  5000u
#define REG_FRAME_HEADER_LEN    4u
#define REG_DIGEST_LEN          32u      /* SHA-256 of a request as sent */

/* Result codes carried in RegistrationReply.result (one per refusal). */
enum reg_result {
	REG_OK = 0,
	REG_MALFORMED = 1,
	REG_TOO_BIG = 2,
	REG_BAD_SIGNATURE = 3,
	REG_UNTRUSTED = 4,      /* chain does not verify / no anchor / not pinned */
	REG_CERT_EXPIRED = 5,
	REG_WRONG_PRINCIPAL = 6,
	REG_NOT_ALLOWED = 7,
	REG_SKEW = 8,
	REG_REPLAY = 9,
	REG_KVNO_EXISTS = 10,
	REG_POLICY = 11,
	REG_SEALED_KEYS = 12,
	REG_WRONG_REALM = 13,
	REG_INTERNAL = 14,
	REG_TRY_LATER = 15,     /* the store is unreachable for now: retry */
	REG_RESULT_COUNT
};

/* A short English name ("OK", "BAD_SIGNATURE"...); "UNKNOWN" out of range. */
const char *reg_result_str(int result);

/* ------------------------------------------------------------- messages */

/*
 * The eContentType of each signed message (OIDs in docs/registration.md),
 * and of the sealed keys inside (Auth)EnvelopedData.
 */
enum reg_content_type {
	REG_CT_REQUEST = 1,     /* RegistrationRequest */
	REG_CT_REPLY = 2,       /* RegistrationReply */
	REG_CT_KEY_REQUEST = 3, /* KeyRequest */
	REG_CT_SEALED_KEYS = 4, /* SealedKeys (encrypted content) */
	REG_CT_TICKET = 5,      /* EncTicketPart of a public-key ticket (encrypted) */
};

/*
 * The enctype of a public-key ticket's enc-part (DESIGN §2): a negative,
 * local-use number (RFC 3961 §8) whose cipher is a DER ContentInfo
 * (AuthEnvelopedData) of content type REG_CT_TICKET sealed to the
 * service's certificate, holding the EncTicketPart. Only liblethe's
 * acceptor opens it (docs/registration.md).
 */
#define REG_ENCTYPE_PUBKEY_TICKET (-19540)

/* The dotted OID text of ct, or NULL for an unknown value. */
const char *reg_content_type_oid(enum reg_content_type ct);

/* KeyWindow: a key's id and lifetime, without the key. */
typedef struct reg_key_window {
	uint32_t kvno;
	int32_t enctype;
	int64_t use_until;
	int64_t accept_until;
} reg_key_window;

/*
 * RegistrationRequest. sealed_keys is a borrowed view: the caller's
 * buffer when encoding, a view into the decoded input when decoding
 * (valid as long as that input is).
 */
typedef struct reg_request {
	char principal[REG_MAX_NAME_LEN + 1];
	uint8_t nonce[REG_NONCE_LEN];
	int64_t timestamp;
	bool has_answers;                       /* answersKeyRequest present */
	uint8_t answers[REG_NONCE_LEN];
	bool has_callback;
	char callback[REG_MAX_CALLBACK_LEN + 1];        /* "host:port" */
	reg_key_window keys[REG_MAX_KEYS];
	size_t nkeys;                           /* 1..REG_MAX_KEYS */
	lbytes sealed_keys;                     /* DER CMS, 1.. bytes */
} reg_request;

/* SealedKey: secret; wiped by reg_sealed_keys_clear. */
typedef struct reg_sealed_key {
	uint32_t kvno;
	int32_t enctype;
	uint8_t key[REG_MAX_KEY_LEN];
	size_t key_len;                         /* 1..REG_MAX_KEY_LEN */
} reg_sealed_key;

typedef struct reg_sealed_keys {
	reg_sealed_key keys[REG_MAX_KEYS];
	size_t nkeys;                           /* 1..REG_MAX_KEYS */
} reg_sealed_keys;

/*
 * RegistrationReply. granted may be absent (has_granted false) or 0..8.
 * The binding (has_binding, field [5]) names the request answered: its
 * principal, its kvnos in request order, and the SHA-256 of its DER CMS
 * bytes as received (reg_request_digest). A KDC signs only replies to
 * requests that passed the signature check, and binds every one of them.
 */
typedef struct reg_reply {
	uint8_t nonce[REG_NONCE_LEN];
	int32_t result;                         /* enum reg_result */
	char text[REG_MAX_TEXT_LEN + 1];
	int64_t server_time;
	bool has_granted;
	reg_key_window granted[REG_MAX_KEYS];
	size_t ngranted;
	bool has_binding;
	char principal[REG_MAX_NAME_LEN + 1];
	uint32_t kvnos[REG_MAX_KEYS];
	size_t nkvnos;                          /* 1..REG_MAX_KEYS */
	uint8_t request_sha256[REG_DIGEST_LEN];
} reg_reply;

/* KeyRequest. */
typedef struct reg_key_request {
	char principal[REG_MAX_NAME_LEN + 1];
	uint8_t nonce[REG_NONCE_LEN];
	int64_t timestamp;
} reg_key_request;

/*
 * Codecs. *_encode writes the DER of *in to a fresh buffer *out (caller
 * frees; for sealed keys use reg_free_secret) of *out_len bytes.
 * LETHE_ERR_INVALID_ARG when *in breaks a bound above (count, length,
 * unparsable principal, text not NUL-terminated within its array).
 *
 * *_decode parses exactly der[0..len) (strict DER: no trailing bytes,
 * explicit tags as in the module, fixed nonce sizes, counts within
 * bounds) into *out. The principal's name type on the wire must be the
 * one the encoder writes (KRB_NT_SRV_HST for two components, else
 * KRB_NT_PRINCIPAL), so decode + encode gives back the same bytes.
 * Errors: LETHE_ERR_DER_* for structure, LETHE_ERR_TOO_BIG for a count
 * or length over a bound, LETHE_ERR_FORMAT for a principal that cannot
 * be written as text. On error *out is zeroed. All map to REG_MALFORMED.
 */
lethe_status reg_request_encode(const reg_request *in, uint8_t **out, size_t *out_len);
lethe_status reg_request_decode(const uint8_t *der, size_t len, reg_request *out);
lethe_status reg_reply_encode(const reg_reply *in, uint8_t **out, size_t *out_len);
lethe_status reg_reply_decode(const uint8_t *der, size_t len, reg_reply *out);
lethe_status reg_key_request_encode(const reg_key_request *in, uint8_t **out,
    size_t *out_len);
lethe_status reg_key_request_decode(const uint8_t *der, size_t len, reg_key_request *out);
lethe_status reg_sealed_keys_encode(const reg_sealed_keys *in, uint8_t **out,
    size_t *out_len);
lethe_status reg_sealed_keys_decode(const uint8_t *der, size_t len, reg_sealed_keys *out);

/*
 * RegistrationError: the unsigned answer to a frame that did not pass the
 * signature check (DESIGN §7: nothing unauthenticated gets a signature).
 * Bare DER SEQUENCE { result [0] Int32 } (7 bytes), result
 * 1..REG_RESULT_COUNT-1 (else LETHE_ERR_INVALID_ARG / LETHE_ERR_DER_VALUE);
 * the decoder refuses anything over REG_ERROR_MAX_LEN bytes. It says
 * nothing trustworthy: anyone on the path can forge one.
 */
#define REG_ERROR_MAX_LEN 8u
lethe_status reg_error_encode(int32_t result, uint8_t **out, size_t *out_len);
lethe_status reg_error_decode(const uint8_t *der, size_t len, int32_t *result);

/* The SHA-256 of a request's DER CMS bytes, as a reply's binding holds it. */
lethe_status reg_request_digest(const uint8_t *der, size_t len,
    uint8_t out[REG_DIGEST_LEN]);

/* Wipe every key of *k and zero it. NULL is allowed. */
void reg_sealed_keys_clear(reg_sealed_keys *k);

/* Wipe p[0..len) and free it. NULL is allowed. */
void reg_free_secret(void *p, size_t len);

/* ------------------------------------------------------------- CMS */

/* A signer: certificate, its chain (may be empty) and private key. */
typedef struct reg_identity reg_identity;

/*
 * Load an identity from cert_path (PEM: the certificate first, then its
 * chain) and key_path (PEM private key, unencrypted). The key must match
 * the certificate. LETHE_ERR_IO (unreadable), LETHE_ERR_FORMAT (not PEM,
 * no certificate, no key, key does not match), LETHE_ERR_TOO_BIG (a file
 * over REG_MAX_MESSAGE * 4 bytes).
 */
lethe_status reg_identity_load_pem(const char *cert_path, const char *key_path,
    reg_identity **out);

/*
 * Load an identity from a PKCS#12 file protected by password (may be ""
 * or NULL). Errors as reg_identity_load_pem; a wrong password is
 * LETHE_ERR_FORMAT.
 */
lethe_status reg_identity_load_pkcs12(const char *path, const char *password,
    reg_identity **out);

/* The same from PEM text in memory (the KDC's store credential). */
lethe_status reg_identity_from_pem(const char *cert_pem, size_t cert_len,
    const char *key_pem, size_t key_len, reg_identity **out);

/* Free the identity (the private key is freed by OpenSSL). NULL is allowed. */
void reg_identity_free(reg_identity *id);

/* The identity's certificate, borrowed (valid while id lives). */
X509 *reg_identity_cert(const reg_identity *id);

/* A second identity sharing id's certificate, chain and key (references). */
lethe_status reg_identity_dup(const reg_identity *id, reg_identity **out);

/*
 * Sign content[0..len) as a DER ContentInfo(SignedData) with eContentType
 * ct, SHA-256, signed attributes, the signer's certificate and chain
 * included. *out (caller frees) holds *out_len bytes.
 */
lethe_status reg_sign(const reg_identity *id, enum reg_content_type ct,
    const uint8_t *content, size_t len, uint8_t **out, size_t *out_len);

/*
 * What a signed message is checked against. anchors may be NULL (pins
 * only); pins holds npins SPKI SHA-256 hex strings (any case), may be
 * NULL when npins is 0. Borrowed.
 */
typedef struct reg_trust {
	X509_STORE *anchors;
	const char *const *pins;
	size_t npins;
} reg_trust;

/* A verified message. Release with reg_verified_clear. */
typedef struct reg_verified {
	uint8_t *content;               /* the signed content (owned) */
	size_t content_len;
	X509 *signer;                   /* the signer's certificate (owned ref) */
	bool pinned;                    /* accepted by its pin, chain not checked */
	char signer_spki[REG_SPKI_HEX_LEN + 1];    /* lowercase hex */
} reg_verified;

/* Free what *v owns and zero it. NULL is allowed. */
void reg_verified_clear(reg_verified *v);

/*
 * Verify der[0..len), a DER ContentInfo(SignedData) with one signer and
 * eContentType expected, at time now. Checks, in order: size (over
 * REG_MAX_MESSAGE -> REG_TOO_BIG), CMS structure (-> REG_MALFORMED),
 * the signature over the content (-> REG_BAD_SIGNATURE), then trust: the
 * signer's SPKI SHA-256 among the pins (accepted, v->pinned, nothing more
 * checked), else the chain to trust->anchors at now (validity ->
 * REG_CERT_EXPIRED, anything else -> REG_UNTRUSTED), then the signer's
 * key usage (see docs: digitalSignature if keyUsage is present; EKU
 * absent or one of id-pkinit-KPClientAuth, clientAuth,
 * anyExtendedKeyUsage -> else REG_UNTRUSTED).
 *
 * Returns LETHE_OK with *result set to the verdict; *v is filled only
 * for REG_OK (else zeroed, except signer_spki for REG_UNTRUSTED and
 * REG_CERT_EXPIRED: who signed, for logs). An error status (LETHE_ERR_NOMEM...) means
 * no verdict: treat as REG_INTERNAL.
 */
lethe_status reg_verify(const uint8_t *der, size_t len, enum reg_content_type expected,
    const reg_trust *trust, int64_t now, reg_verified *v, enum reg_result *result);

/*
 * The content of a SignedData of type ct WITHOUT checking its signature
 * or signer: only for echoing a refused request's nonce, never for a
 * decision. *out (freed by the caller) receives a copy. LETHE_ERR_FORMAT
 * when der is not such a SignedData with its content inside.
 */
lethe_status reg_peek_content(const uint8_t *der, size_t len, enum reg_content_type ct,
    uint8_t **out, size_t *out_len);

/*
 * Encrypt keys to recipient as a DER ContentInfo(AuthEnvelopedData,
 * AES-256-GCM), content type REG_CT_SEALED_KEYS: ECDH (kari) for an EC
 * certificate, RSA-OAEP (ktri) for RSA. *out is freed by the caller.
 */
lethe_status reg_seal_keys(X509 *recipient, const reg_sealed_keys *keys,
    uint8_t **out, size_t *out_len);

/*
 * Decrypt der[0..len) with the identity's key and decode the SealedKeys
 * inside into *out (wipe with reg_sealed_keys_clear). LETHE_ERR_TOO_BIG
 * over REG_MAX_MESSAGE; LETHE_ERR_FORMAT when it is not an
 * AuthEnvelopedData of sealed keys or not exactly the shape reg_seal_keys
 * produces for the identity's key type (recipient kind, ECDH KDF, key wrap,
 * content cipher: checked before OpenSSL decrypts); LETHE_ERR_BAD_INTEGRITY when it does
 * not decrypt (wrong key, tampered); decoder errors as
 * reg_sealed_keys_decode. All map to REG_SEALED_KEYS.
 */
lethe_status reg_open_keys(const uint8_t *der, size_t len, const reg_identity *id,
    reg_sealed_keys *out);

/*
 * Encrypt plain[0..len) to recipient as reg_seal_keys does, with content
 * type ct (REG_CT_SEALED_KEYS or REG_CT_TICKET). *out is freed by the
 * caller. The plaintext is not kept.
 */
lethe_status reg_seal_bytes(X509 *recipient, enum reg_content_type ct,
    const uint8_t *plain, size_t len, uint8_t **out, size_t *out_len);

/*
 * Sign plain[0..len) with signer (reg_sign, content type ct), then seal
 * that SignedData to recipient (reg_seal_bytes, content type ct): the
 * layering of a public-key ticket (docs/registration.md). The
 * intermediate SignedData is wiped. *out is freed by the caller.
 */
lethe_status reg_sign_and_seal(const reg_identity *signer, X509 *recipient,
    enum reg_content_type ct, const uint8_t *plain, size_t len, uint8_t **out,
    size_t *out_len);

/*
 * Decrypt an AuthEnvelopedData of content type ct made by reg_seal_bytes
 * with the identity's key. *out (secret: free with reg_free_secret) holds
 * the plaintext. Errors as reg_open_keys.
 */
lethe_status reg_open_bytes(const uint8_t *der, size_t len, enum reg_content_type ct,
    const reg_identity *id, uint8_t **out, size_t *out_len);

/* ------------------------------------------------------------- certificates */

/* The first certificate of PEM text (caller X509_free's it). LETHE_ERR_FORMAT. */
lethe_status reg_cert_from_pem(const char *pem, size_t len, X509 **out);

/* The first certificate of a PEM file. LETHE_ERR_IO, LETHE_ERR_FORMAT. */
lethe_status reg_cert_load_pem(const char *path, X509 **out);

/* cert as PEM text, NUL-terminated (caller frees); *out_len excludes the NUL. */
lethe_status reg_cert_to_pem(X509 *cert, char **out, size_t *out_len);

/*
 * Add every certificate of PEM text to store (created when *store is
 * NULL; caller X509_STORE_free's it). LETHE_ERR_FORMAT when the text
 * holds no certificate.
 */
lethe_status reg_trust_add_pem(X509_STORE **store, const char *pem, size_t len);

/* The same from a PEM file. */
lethe_status reg_trust_add_file(X509_STORE **store, const char *path);

/* Lowercase hex SHA-256 of cert's DER SubjectPublicKeyInfo, NUL-terminated. */
lethe_status reg_spki_sha256_hex(X509 *cert, char out[REG_SPKI_HEX_LEN + 1]);

/* Which subjectAltName of a certificate named a principal. */
enum reg_name_match {
	REG_NAME_NONE = 0,      /* no SAN names it */
	REG_NAME_PKINIT_SAN,    /* id-pkinit-san KRB5PrincipalName equal to it */
	REG_NAME_DNS_SAN,       /* "svc/host": svc listed, dNSName == host */
};

/*
 * Does cert name principal (canonical text)? dns_services is a list of
 * host-based service names separated by blanks ("host HTTP"; NULL or ""
 * for none). id-pkinit-san matches on realm and every component byte for
 * byte; a dNSName matches a two-component principal whose first
 * component is in the list (exactly) and whose second equals the dNSName
 * ignoring ASCII case; wildcard dNSNames never match. LETHE_ERR_FORMAT
 * when principal does not parse; malformed SANs are skipped.
 */
lethe_status reg_cert_names_principal(X509 *cert, const char *principal,
    const char *dns_services, enum reg_name_match *out);

/* cert's subject DN as RFC 2253 text ("CN=a,O=b"), NUL-terminated; caller frees. */
lethe_status reg_cert_subject_text(X509 *cert, char **out);

/*
 * cert's subjectAltNames as texts, in certificate order: "DNS:<name>",
 * "principal:<a/b@REALM>" (id-pkinit-san), "email:<x>", "URI:<x>",
 * "IP:<addr>"; other kinds are skipped. *out is an array of *n strings;
 * release with reg_strings_free(*out, *n). *out is NULL when *n is 0.
 */
lethe_status reg_cert_san_texts(X509 *cert, char ***out, size_t *n);

/* Free an array of n strings and the array. NULL is allowed. */
void reg_strings_free(char **s, size_t n);

/* ------------------------------------------------------------- network */

/*
 * The length of the frame whose 4-byte header is hdr: LETHE_ERR_FORMAT
 * for 0, LETHE_ERR_TOO_BIG over max. For poll-driven readers.
 */
lethe_status reg_frame_length(const uint8_t hdr[REG_FRAME_HEADER_LEN], size_t max,
    size_t *len);

/*
 * Write one frame (4-byte big-endian length, then msg[0..len)) to the
 * connected socket fd within timeout_ms in all. len is 1..REG_MAX_MESSAGE
 * (else LETHE_ERR_INVALID_ARG). LETHE_ERR_IO on a socket error or the
 * deadline (errno ETIMEDOUT). Never raises SIGPIPE.
 */
lethe_status reg_write_frame(int fd, const uint8_t *msg, size_t len,
    unsigned timeout_ms);

/*
 * Read one frame from socket fd within timeout_ms in all. A length of 0
 * is LETHE_ERR_FORMAT; over max (at most REG_MAX_MESSAGE) is
 * LETHE_ERR_TOO_BIG, refused before any of the body is read; a stream
 * that ends inside the frame is LETHE_ERR_FORMAT; LETHE_ERR_IO on a
 * socket error or the deadline (errno ETIMEDOUT). *out (caller frees)
 * holds *out_len bytes.
 */
lethe_status reg_read_frame(int fd, size_t max, unsigned timeout_ms, uint8_t **out,
    size_t *out_len);

/*
 * Parse "host:port" or "[v6]:port" (numeric addresses only) into *out.
 * LETHE_ERR_FORMAT otherwise.
 */
lethe_status reg_parse_endpoint(const char *text, lethe_sockaddr *out);

/*
 * One exchange on a new TCP connection to addr: send req as a frame,
 * read one reply frame (at most REG_MAX_MESSAGE), close. timeout_ms
 * bounds the connect, and the write and the read each. *reply (caller
 * frees). Errors as reg_write_frame/reg_read_frame.
 */
lethe_status reg_client_exchange_addr(const lethe_sockaddr *addr, const uint8_t *req,
    size_t req_len, unsigned timeout_ms, uint8_t **reply, size_t *reply_len);

/* The same to "host:port" text (reg_parse_endpoint). */
lethe_status reg_client_exchange(const char *endpoint, const uint8_t *req, size_t req_len,
    unsigned timeout_ms, uint8_t **reply, size_t *reply_len);

/*
 * Send msg as one frame on a new connection to addr and close, without a
 * reply (the KDC's KeyRequest). Waits up to timeout_ms for the peer to
 * close first, so the frame is known read; LETHE_OK also when the peer
 * does not close in time after the frame was written.
 */
lethe_status reg_send_oneway(const lethe_sockaddr *addr, const uint8_t *msg, size_t len,
    unsigned timeout_ms);

#endif
