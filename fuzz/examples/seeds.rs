//! Writes the fuzz targets' seed corpora from a freshly generated development PKI (run by
//! `seed.sh`; the keys it writes are throwaway and ignored by git, like the rest of `corpus/`).

use std::fs;
use std::path::Path;

use tls_policy_dev_pki::{DevPki, DevPkiOptions, KeyKind};

type Error = Box<dyn std::error::Error>;

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> Result<(), Error> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join(name), bytes)?;
    Ok(())
}

/// The private_key target reads its first byte as the password choice: 0 none, 1 "changeit".
fn key_seed(choice: u8, pem: &str) -> Vec<u8> {
    let mut seed = vec![choice];
    seed.extend_from_slice(pem.as_bytes());
    seed
}

fn main() -> Result<(), Error> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let (keys, certs, crls, configs) = (
        corpus.join("private_key"),
        corpus.join("cert_chain"),
        corpus.join("crl"),
        corpus.join("config_parse"),
    );
    for kind in KeyKind::ALL {
        let pki = DevPki::generate(&DevPkiOptions::default().with_key_kind(kind))?;
        let name = kind.name();
        let server = &pki.server;
        write(
            &keys,
            &format!("{name}-pkcs8"),
            key_seed(0, &server.key_pem),
        )?;
        write(
            &keys,
            &format!("{name}-encrypted"),
            key_seed(1, &server.key_pem_encrypted("changeit")?),
        )?;
        if let Some(sec1) = server.key_sec1_pem()? {
            write(&keys, &format!("{name}-sec1"), key_seed(0, &sec1))?;
        }
        write(&certs, &format!("{name}-chain.pem"), server.chain_pem())?;
        write(
            &certs,
            &format!("{name}-root.der"),
            pki.root.cert_der.as_ref(),
        )?;
        write(&crls, &format!("{name}.pem"), &pki.crl.pem)?;
        write(&crls, &format!("{name}.der"), pki.crl.der.as_ref())?;
    }
    write(
        &configs,
        "full.conf",
        "# a policy with every setting, a binding and a connector\n\
         dbms.ssl.policy.bolt.base_directory=certificates/bolt\n\
         dbms.ssl.policy.bolt.private_key=private.key\n\
         dbms.ssl.policy.bolt.private_key_password=changeit\n\
         dbms.ssl.policy.bolt.public_certificate=public.crt\n\
         dbms.ssl.policy.bolt.trusted_dir=trusted\n\
         dbms.ssl.policy.bolt.revoked_dir=revoked\n\
         dbms.ssl.policy.bolt.client_auth=OPTIONAL\n\
         dbms.ssl.policy.bolt.ciphers=TLS_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n\
         dbms.ssl.policy.bolt.tls_versions=TLSv1.2,TLSv1.3\n\
         dbms.ssl.policy.bolt.allow_key_generation=false\n\
         dbms.ssl.policy.bolt.trust_all=false\n\
         dbms.ssl.policy.bolt.verify_hostname=true\n\
         dbms.ssl.policy.bolt.session_resumption=true\n\
         bolt.ssl_policy=bolt\n\
         dbms.connector.bolt.enabled=true\n\
         dbms.connector.bolt.listen_address=:7687\n\
         dbms.connector.bolt.tls_level=OPTIONAL\n\
         dbms.connector.bolt.kind=echo\n\
         dbms.connector.bolt.handshake_timeout=500ms\n\
         dbms.connector.bolt.max_concurrent_handshakes=64\n\
         dbms.connectors.default_listen_address=0.0.0.0\n\
         dbms.connectors.default_advertised_address=db.example\n\
         dbms.directories.certificates=certs\n\
         dbms.ssl.backend=rustls-ring\n",
    )?;
    write(
        &configs,
        "legacy.conf",
        "dbms.memory.heap.max_size=1G\r\nhttps.ssl_policy=legacy\r\n\
         dbms.connector.https.listen_address=[::1]:7473\r\n",
    )?;
    write(
        &configs,
        "errors.conf",
        "dbms.ssl.policy.a.base_directory=x\ndbms.ssl.policy.a.base_directory=y\n\
         dbms.ssl.policy.a.tls_versions=TLSv1.1\ndbms.ssl.policy.b.enabled=true\njunk\n",
    )?;
    println!("seeds written under {}", corpus.display());
    Ok(())
}
