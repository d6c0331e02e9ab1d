# One libFuzzer target per top-level Kerberos decoder, all built from
# fuzz_krb5_msg.c; seeds in corpus/fuzz_krb5_<type>/.
set(lethe_krb5_fuzz_types
  as_req tgs_req as_rep tgs_rep enc_kdc_rep_part ticket enc_ticket_part
  ap_req authenticator ap_rep enc_ap_rep_part krb_error krb_safe krb_priv
  enc_krb_priv_part pa_enc_ts_enc etype_info2 method_data)
foreach(type IN LISTS lethe_krb5_fuzz_types)
  string(TOUPPER "${type}" upper)
  lethe_fuzz_target(fuzz_krb5_${type} fuzz_krb5_msg.c)
  target_compile_definitions(fuzz_krb5_${type} PRIVATE FUZZ_KRB5_${upper})
endforeach()
