//! The file entry points: [`Settings::from_file`] and [`Settings::parse`].

use std::path::{Path, PathBuf};

use super::model::Settings;
use super::resolve::{Draft, Duplicates};
use super::{keys, properties, values};
use crate::error::{Error, Result, Source};

impl Settings {
    /// Reads a `neo4j.conf`-style file. Relative paths resolve against `home`, by default the
    /// directory holding the file.
    ///
    /// Keys outside tls-policy's namespaces are ignored, so a complete `neo4j.conf` loads; inside
    /// them, an unknown key, a key given twice or a bad value is an error naming `file:line`.
    /// Nothing but the config file is read: paths are resolved, not checked.
    pub fn from_file(path: impl AsRef<Path>, home: Option<&Path>) -> Result<Settings> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        let home = match home {
            Some(home) => home.to_path_buf(),
            None => directory_of(path),
        };
        Settings::parse(&text, path, &home)
    }

    /// Parses the text of a config file; `origin` names it in error messages, relative paths
    /// resolve against `home`.
    ///
    /// ```
    /// use std::path::Path;
    /// use tls_policy::config::Settings;
    ///
    /// let text = "
    /// dbms.memory.heap.max_size=1G
    /// dbms.ssl.policy.client.base_directory=certificates/client
    /// dbms.ssl.policy.client.client_auth=NONE
    /// bolt.ssl_policy=client
    /// dbms.connector.bolt.listen_address=:7687
    /// ";
    /// let settings = Settings::parse(text, Path::new("neo4j.conf"), Path::new("/srv/neo4j"))?;
    /// let policy = settings.channel_policy("bolt").expect("bolt is bound");
    /// assert_eq!(policy.private_key, Path::new("/srv/neo4j/certificates/client/private.key"));
    /// assert_eq!(settings.channels["bolt"].listen_address.as_deref(), Some("127.0.0.1:7687"));
    ///
    /// let text = "dbms.ssl.policy.client.client_auth=MAYBE";
    /// let err = Settings::parse(text, Path::new("neo4j.conf"), Path::new(".")).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "neo4j.conf:1: dbms.ssl.policy.client.client_auth: invalid value 'MAYBE'; \
    ///      expected one of NONE, OPTIONAL, REQUIRE"
    /// );
    /// # Ok::<(), tls_policy::Error>(())
    /// ```
    pub fn parse(text: &str, origin: &Path, home: &Path) -> Result<Settings> {
        let mut draft = Draft::new(home.to_path_buf(), Duplicates::Refuse);
        let entries = properties::parse(text, origin)?;
        // `server.<scope>.*` of a custom scope is read wherever `dbms.ssl.custom_scopes` stands
        // in the file (a bad value there is reported at its line below).
        let custom_scopes = entries
            .iter()
            .filter(|entry| entry.key == keys::CUSTOM_SCOPES_KEY)
            .find_map(|entry| values::custom_scopes(entry.value.trim()).ok())
            .unwrap_or_default();
        for entry in entries {
            let source = Source::File {
                path: origin.to_path_buf(),
                line: entry.line,
            };
            let fail = |message: String| Error::Config {
                source_location: source.clone(),
                key: entry.key.clone(),
                message,
            };
            let Some(target) = keys::classify_with(&entry.key, &custom_scopes).map_err(fail)?
            else {
                tracing::debug!(
                    key = %entry.key,
                    line = entry.line,
                    "ignoring a setting outside tls-policy's namespaces"
                );
                continue;
            };
            let setting = values::parse(&target, &entry.value).map_err(fail)?;
            draft.set(setting, source, entry.key)?;
        }
        draft.finish()
    }
}

/// The directory holding `file`: `.` for a bare file name.
fn directory_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsLevel;
    use tls_policy_backend::ClientAuth;

    /// The shape of a Neo4j 3.5 `neo4j.conf`, SSL framework configured, the rest untouched.
    const NEO4J_35_CONF: &str = r#"#*****************************************************************
# Neo4j configuration
#
# For more details and a complete list of settings, please see
# https://neo4j.com/docs/operations-manual/current/reference/configuration-settings/
#*****************************************************************

# The name of the database to mount
#dbms.active_database=graph.db

# Paths of directories in the installation.
#dbms.directories.data=data
#dbms.directories.plugins=plugins
#dbms.directories.certificates=certificates
#dbms.directories.logs=logs
#dbms.directories.lib=lib
#dbms.directories.run=run

# This setting constrains all `LOAD CSV` import files to be under the `import` directory.
dbms.directories.import=import

# Whether requests to Neo4j are authenticated.
dbms.security.auth_enabled=true

# Java Heap Size: by default the Java heap size is dynamically
# calculated based on available system resources.
dbms.memory.heap.initial_size=512m
dbms.memory.heap.max_size=512m
dbms.memory.pagecache.size=10g

#*****************************************************************
# Network connector configuration
#*****************************************************************

# With default configuration Neo4j only accepts local connections.
dbms.connectors.default_listen_address=0.0.0.0
dbms.connectors.default_advertised_address=graph.example.com

# Bolt connector
dbms.connector.bolt.enabled=true
dbms.connector.bolt.tls_level=OPTIONAL
dbms.connector.bolt.listen_address=:7687
dbms.connector.bolt.thread_pool_min_size=5
dbms.connector.bolt.thread_pool_max_size=400
dbms.connector.bolt.thread_pool_keep_alive=5m

# HTTP Connector. There must be exactly one HTTP connector.
dbms.connector.http.enabled=true
#dbms.connector.http.listen_address=:7474

# HTTPS Connector. There can be zero or one HTTPS connectors.
dbms.connector.https.enabled=true
dbms.connector.https.listen_address=:7473
dbms.connector.https.advertised_address=graph.example.com:7473

# Number of Neo4j worker threads.
#dbms.threads.worker_count=

#*****************************************************************
# SSL system configuration
#*****************************************************************

dbms.ssl.policy.client_policy.base_directory=certificates/client_policy
dbms.ssl.policy.client_policy.client_auth=NONE
dbms.ssl.policy.cluster_policy.base_directory=/etc/neo4j/certificates/cluster
dbms.ssl.policy.cluster_policy.tls_versions=TLSv1.2
dbms.ssl.policy.cluster_policy.ciphers=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
dbms.ssl.policy.cluster_policy.trusted_dir=/etc/neo4j/certificates/cluster/trusted
dbms.ssl.policy.backup_policy.base_directory=certificates/backup

bolt.ssl_policy=client_policy
https.ssl_policy=client_policy
causal_clustering.ssl_policy=cluster_policy
dbms.backup.ssl_policy=backup_policy

#*****************************************************************
# Causal Clustering Configuration
#*****************************************************************
dbms.mode=CORE
causal_clustering.minimum_core_cluster_size_at_formation=3
causal_clustering.minimum_core_cluster_size_at_runtime=3
causal_clustering.initial_discovery_members=core1:5000,core2:5000,core3:5000
causal_clustering.discovery_listen_address=:5000
causal_clustering.transaction_listen_address=:6000
causal_clustering.raft_listen_address=:7000

#*****************************************************************
# Backup, logging, JVM
#*****************************************************************
dbms.backup.enabled=true
dbms.backup.address=0.0.0.0:6362
dbms.logs.query.enabled=true
dbms.logs.query.threshold=0
dbms.tx_log.rotation.retention_policy=1 days
dbms.jvm.additional=-XX:+UseG1GC
dbms.jvm.additional=-XX:-OmitStackTraceInFastThrow
dbms.jvm.additional=-XX:+AlwaysPreTouch
dbms.jvm.additional=-XX:+UnlockExperimentalVMOptions
dbms.jvm.additional=-XX:+TrustFinalNonStaticFields
dbms.jvm.additional=-Djdk.tls.ephemeralDHKeySize=2048
dbms.jvm.additional=-Djdk.tls.rejectClientInitiatedRenegotiation=true
dbms.windows_service_name=neo4j
dbms.jvm.additional=-Dunsupported.dbms.udc.source=tarball
dbms.security.procedures.unrestricted=apoc.*
metrics.enabled=true
metrics.csv.interval=3s
wrapper.java.additional=-Dlog4j.configuration=file:conf/log4j.properties
"#;

    #[test]
    fn a_realistic_neo4j_35_config_loads() {
        let settings = Settings::parse(
            NEO4J_35_CONF,
            Path::new("/etc/neo4j/neo4j.conf"),
            Path::new("/var/lib/neo4j"),
        )
        .unwrap();
        assert_eq!(settings.policies.len(), 3);
        let client = &settings.policies["client_policy"];
        assert_eq!(client.client_auth, ClientAuth::None);
        assert_eq!(
            client.base_directory,
            Path::new("/var/lib/neo4j/certificates/client_policy")
        );
        let cluster = &settings.policies["cluster_policy"];
        assert_eq!(cluster.tls_versions.len(), 1);
        assert_eq!(
            cluster.trusted_dir,
            Path::new("/etc/neo4j/certificates/cluster/trusted")
        );
        assert_eq!(settings.default_listen_address, "0.0.0.0");
        assert_eq!(settings.default_advertised_address, "graph.example.com");
        let names: Vec<&str> = settings.channels.keys().map(String::as_str).collect();
        // `dbms.connector.http.enabled=true` declares the `http` channel, with no address.
        assert_eq!(names, ["backup", "bolt", "cluster", "http", "https"]);
        assert_eq!(settings.channels["http"].listen_address, None);
        assert_eq!(settings.channels["http"].policy, None);
        let bolt = &settings.channels["bolt"];
        assert_eq!(bolt.listen_address.as_deref(), Some("0.0.0.0:7687"));
        assert_eq!(bolt.tls_level, TlsLevel::Optional);
        assert_eq!(
            settings.channels["https"].listen_address.as_deref(),
            Some("0.0.0.0:7473")
        );
        assert_eq!(
            settings.channel_policy("backup").map(|p| p.name.as_str()),
            Some("backup_policy")
        );
    }

    #[test]
    fn from_file_defaults_home_to_the_config_directory() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("neo4j.conf");
        std::fs::write(
            &conf,
            "dbms.ssl.policy.p.base_directory=certificates/p\nbolt.ssl_policy=p\n",
        )
        .unwrap();

        let settings = Settings::from_file(&conf, None).unwrap();
        assert_eq!(settings.home, dir.path());
        assert_eq!(
            settings.policies["p"].base_directory,
            dir.path().join("certificates/p")
        );
        assert_eq!(
            settings.policies["p"].sources["base_directory"],
            Source::File {
                path: conf.clone(),
                line: 1
            }
        );

        let settings = Settings::from_file(&conf, Some(Path::new("/opt/neo4j"))).unwrap();
        assert_eq!(
            settings.policies["p"].base_directory,
            Path::new("/opt/neo4j/certificates/p")
        );
    }

    #[test]
    fn from_file_names_an_unreadable_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.conf");
        let err = Settings::from_file(&missing, None).unwrap_err();
        assert!(matches!(err, Error::ConfigRead { ref path, .. } if *path == missing));
        assert!(err.to_string().contains("missing.conf"), "{err}");
    }

    #[test]
    fn bare_file_name_means_the_working_directory() {
        assert_eq!(directory_of(Path::new("neo4j.conf")), Path::new("."));
        assert_eq!(
            directory_of(Path::new("conf/neo4j.conf")),
            Path::new("conf")
        );
    }
}
