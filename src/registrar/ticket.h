/*
 * The content of a public-key ticket's enc-part (docs/registration.md,
 * "Public-key tickets"): the EncTicketPart together with the server name
 * it was issued for, sealed as one, so that a ticket sealed to a
 * certificate several principals share cannot be presented as another of
 * them (the Ticket's clear sname is not protected).
 *
 *   PubkeyTicketContent ::= SEQUENCE {
 *       realm     [0] Realm,
 *       sname     [1] PrincipalName,
 *       encPart   [2] EncTicketPart }
 */
#ifndef LETHE_REGISTRAR_TICKET_H
#define LETHE_REGISTRAR_TICKET_H

#include "base/bytes.h"
#include "der/der.h"
#include "krb5/types.h"

/*
 * The EncTicketPart was written into w since mark: wrap it as the
 * PubkeyTicketContent for realm and sname.
 */
lethe_status reg_ticket_bind(der_writer *w, size_t mark, lbytes realm,
    const krb_principal_name *sname);

/*
 * Read PubkeyTicketContent plain[0..len) and check that its realm and
 * sname are realm and sname (the Ticket's clear ones, name type
 * ignored): LETHE_ERR_BAD_INTEGRITY when they differ, LETHE_ERR_DER_*
 * for structure. *enc_part is a view of the EncTicketPart inside plain.
 */
lethe_status reg_ticket_unbind(const uint8_t *plain, size_t len, lbytes realm,
    const krb_principal_name *sname, lethe_arena *arena, lbytes *enc_part);

#endif
