/*
 * JavaKerberos: the JDK's own Kerberos against lethe-kdc (run with the
 * source launcher: java JavaKerberos.java ...). Test program, never shipped.
 *
 *   java -Djava.security.krb5.conf=KRB5CONF JavaKerberos.java \
 *        KEYTAB SERVICE WANT_KVNO USER PASSWORD
 *
 * 1. The JDK's keytab reader finds SERVICE's key under WANT_KVNO (a kvno
 *    above 255 lives only in the entry's 32-bit kvno field).
 * 2. USER logs in with PASSWORD (AS exchange with pre-authentication),
 *    asks a ticket for SERVICE (TGS exchange), and SERVICE, logged in from
 *    KEYTAB, accepts the GSS token and unwraps a message.
 * Prints "ok: ..." lines; any failure exits 1 with the reason.
 */
import java.nio.charset.StandardCharsets;
import java.security.PrivilegedExceptionAction;
import java.util.HashMap;
import java.util.Map;

import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.kerberos.KerberosKey;
import javax.security.auth.kerberos.KerberosPrincipal;
import javax.security.auth.kerberos.KeyTab;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;

import org.ietf.jgss.GSSContext;
import org.ietf.jgss.GSSCredential;
import org.ietf.jgss.GSSManager;
import org.ietf.jgss.GSSName;
import org.ietf.jgss.MessageProp;
import org.ietf.jgss.Oid;

public class JavaKerberos {
    static final Oid KRB5 = oid("1.2.840.113554.1.2.2");
    static final Oid KRB5_PRINCIPAL = oid("1.2.840.113554.1.2.2.1");

    static Oid oid(String s) {
        try {
            return new Oid(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static void fail(String why) {
        System.err.println("FAIL: " + why);
        System.exit(1);
    }

    /* A JAAS configuration with one Krb5LoginModule entry of these options. */
    static Configuration krb5Login(Map<String, String> options) {
        return new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                return new AppConfigurationEntry[] { new AppConfigurationEntry(
                    "com.sun.security.auth.module.Krb5LoginModule",
                    AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, options) };
            }
        };
    }

    static Subject login(Map<String, String> options, String user, String password)
            throws Exception {
        Subject subject = new Subject();
        LoginContext lc = new LoginContext("lethe", subject, callbacks -> {
            for (Callback cb : callbacks) {
                if (cb instanceof NameCallback)
                    ((NameCallback) cb).setName(user);
                else if (cb instanceof PasswordCallback)
                    ((PasswordCallback) cb).setPassword(password.toCharArray());
            }
        }, krb5Login(options));
        lc.login();
        return subject;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5)
            fail("usage: KEYTAB SERVICE WANT_KVNO USER PASSWORD");
        String keytab = args[0], service = args[1], user = args[3], password = args[4];
        int wantKvno = Integer.parseInt(args[2]);

        /* 1. The keytab reader. */
        KerberosKey[] keys = KeyTab.getInstance(new java.io.File(keytab))
            .getKeys(new KerberosPrincipal(service));
        boolean found = false;
        StringBuilder seen = new StringBuilder();
        for (KerberosKey k : keys) {
            seen.append(' ').append(k.getVersionNumber()).append('/').append(k.getKeyType());
            found |= k.getVersionNumber() == wantKvno;
        }
        if (!found)
            fail("the JDK keytab reader does not see kvno " + wantKvno + " of " + service
                + "; it sees:" + seen);
        System.out.println("ok: JDK keytab reader sees kvno " + wantKvno + " of " + service);

        /* 2. Client and acceptor. */
        Map<String, String> client = new HashMap<>();
        client.put("useTicketCache", "false");
        client.put("doNotPrompt", "false");
        client.put("refreshKrb5Config", "true");
        Subject alice = login(client, user, password);
        System.out.println("ok: JDK AS exchange as " + user);

        Map<String, String> server = new HashMap<>();
        server.put("useKeyTab", "true");
        server.put("keyTab", keytab);
        server.put("principal", service);
        server.put("storeKey", "true");
        server.put("isInitiator", "false");
        server.put("doNotPrompt", "true");
        Subject svc = login(server, null, "");

        GSSManager gss = GSSManager.getInstance();
        GSSName target = gss.createName(service, KRB5_PRINCIPAL);
        GSSContext init = Subject.doAs(alice, (PrivilegedExceptionAction<GSSContext>) () -> {
            GSSContext c = gss.createContext(target, KRB5, null, GSSContext.DEFAULT_LIFETIME);
            c.requestMutualAuth(true);
            return c;
        });
        byte[] token = Subject.doAs(alice,
            (PrivilegedExceptionAction<byte[]>) () -> init.initSecContext(new byte[0], 0, 0));
        System.out.println("ok: JDK TGS exchange for " + service);

        GSSContext accept = Subject.doAs(svc, (PrivilegedExceptionAction<GSSContext>) () ->
            gss.createContext((GSSCredential) null));
        byte[] reply = Subject.doAs(svc,
            (PrivilegedExceptionAction<byte[]>) () -> accept.acceptSecContext(token, 0, token.length));
        if (!accept.isEstablished())
            fail("the acceptor did not establish the context");
        if (reply != null)
            Subject.doAs(alice, (PrivilegedExceptionAction<byte[]>) () ->
                init.initSecContext(reply, 0, reply.length));
        if (!init.isEstablished())
            fail("the initiator did not establish the context (mutual authentication)");
        String src = accept.getSrcName().toString();
        if (!src.equals(user))
            fail("the acceptor sees " + src + ", not " + user);
        byte[] msg = "lethe over java".getBytes(StandardCharsets.UTF_8);
        byte[] wrapped = init.wrap(msg, 0, msg.length, new MessageProp(0, true));
        byte[] back = accept.unwrap(wrapped, 0, wrapped.length, new MessageProp(0, true));
        if (!new String(back, StandardCharsets.UTF_8).equals("lethe over java"))
            fail("the unwrapped message differs");
        System.out.println("ok: JDK acceptor accepted " + src + " with kvno " + wantKvno
            + " and unwrapped a sealed message");
    }
}
