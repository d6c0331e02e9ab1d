/*
 * The fixed identity of fuzz_registrar_cms (test material for fuzzing only):
 * the seeds in corpus/fuzz_registrar_cms/ are signed with it and sealed to
 * it. The unit tests that replay regression inputs include it too.
 */
#ifndef LETHE_FUZZ_REGISTRAR_CMS_IDENTITY_H
#define LETHE_FUZZ_REGISTRAR_CMS_IDENTITY_H

static const char fuzz_cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBtDCCAVugAwIBAgIUeOhIr/XbJ2vDNApmvEEAC3aE6EUwCgYIKoZIzj0EAwIw\n"
	"JzESMBAGA1UECgwJRlVaWi5URVNUMREwDwYDVQQDDAhmdXp6IGtkYzAgFw0yNjEx\n"
	"MjMxNjU4NTBaGA8yMTI2MTAzMDE2NTg1MFowJzESMBAGA1UECgwJRlVaWi5URVNU\n"
	"MREwDwYDVQQDDAhmdXp6IGtkYzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABAKd\n"
	"AH2QuVviPb4OvBf5xFzH3SKmY8hD5aexi5pnLBem5+9YOxyL068lssgrT/mKt+h2\n"
	"OBEuL8++/BHozLIIZFyjYzBhMB0GA1UdDgQWBBRV37tZzjtGwrYfDTzqqFjY29WQ\n"
	"yDAfBgNVHSMEGDAWgBRV37tZzjtGwrYfDTzqqFjY29WQyDAPBgNVHRMBAf8EBTAD\n"
	"AQH/MA4GA1UdDwEB/wQEAwIDiDAKBggqhkjOPQQDAgNHADBEAiAT6yyIqjPgdgcc\n"
	"ZEW431JKrUNG8CA3CbjY2S540VFF8AIgfNBrxou8FBHG4SzHaAPrjHqwu4DhvaFv\n"
	"3Cpn3cNvpt0=\n"
	"-----END CERTIFICATE-----\n"
	;

static const char fuzz_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4cCq/edqQ5U+AMPo\n"
	"2086ojmfjs8k+4Z0pCyxo8tz3/yhRANCAAQCnQB9kLlb4j2+DrwX+cRcx90ipmPI\n"
	"Q+WnsYuaZywXpufvWDsci9OvJbLIK0/5irfodjgRLi/PvvwR6MyyCGRc\n"
	"-----END PRIVATE KEY-----\n"
	;

#endif
