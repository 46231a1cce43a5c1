//! The lake on S3-compatible object storage (AWS S3, Tencent COS, Aliyun OSS, MinIO).
//!
//! The lake's contract is the same as on disk; only the moves change, because a store has
//! no rename. Files are still written (and summed) under a temporary name in a local
//! staging directory; *publishing* a file uploads it to its final key: in one PUT when
//! it is small, else as a multipart upload, which stays invisible until it is completed,
//! and is completed only once every part of the whole file is in (aborted on any
//! failure). The manifest is uploaded last, so a reader that trusts files through
//! manifests never sees half a publish. A worker killed mid-upload leaves at most an
//! uncompleted upload: the next writer of the same key (who holds the lease on what
//! writes it) aborts it before uploading, and every writing command aborts uploads older
//! than a day.
//!
//! Everything here is a blocking call: the lake is used from the ingest threads, so one
//! small runtime of its own (never dropped) runs the store's futures, whatever runtime
//! the caller is in.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::Deserialize;

use crate::util::secret::{scrub, Secret};

use super::LakeError;

/// `[lake.s3]`: how to reach the store. Every key may also come from the standard AWS
/// environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, …); a key set here
/// wins over the environment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// `https://cos.ap-shanghai.myqcloud.com`, `https://oss-cn-hangzhou.aliyuncs.com`,
    /// `http://minio:9000` (default: AWS, or `AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Allow `http://` endpoints (default: no, or `AWS_ALLOW_HTTP`).
    pub allow_http: Option<bool>,
    /// `bucket.endpoint/key` instead of `endpoint/bucket/key` (COS and OSS need it).
    pub virtual_hosted_style: Option<bool>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    pub session_token: Option<Secret>,
    /// Where files are written before they are uploaded (default: the system's temporary
    /// directory, `cdncost-staging/<bucket>/<prefix>`).
    pub staging: Option<PathBuf>,
    /// Multipart part size in MiB (5 to 512; default 8). Files up to one part go in one PUT.
    pub part_size_mib: Option<usize>,
    /// How long a lease lasts unless its holder renews it (default 300 s; renewed every
    /// third of it). A killed worker's lease is taken over once it has expired.
    pub lease_seconds: Option<u64>,
    /// Whether the store honours `If-None-Match: *` and `If-Match` on PUT (default yes:
    /// AWS S3, COS, MinIO). Aliyun OSS does not: set `false`, and run one writer per day
    /// (leases are then not taken; see the README).
    pub conditional_put: Option<bool>,
}

/// Where a lake lives, as given on the command line or in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Dir(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl Location {
    /// A directory, or `s3://bucket[/prefix]`. Any other `scheme://` is refused: taken as
    /// a path it would quietly become a local directory named `scheme:`.
    pub fn parse(text: &str) -> Result<Location, LakeError> {
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(Location::Dir(PathBuf::from(text)));
        };
        let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !is_scheme {
            return Ok(Location::Dir(PathBuf::from(text)));
        }
        if !scheme.eq_ignore_ascii_case("s3") {
            return Err(LakeError::UnknownScheme {
                location: text.to_string(),
                scheme: scheme.to_string(),
            });
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/').to_string();
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'));
        let prefix_ok = prefix.is_empty() || super::is_safe_relative(&prefix);
        if !bucket_ok || !prefix_ok {
            return Err(LakeError::BadLocation {
                location: text.to_string(),
                why: "expected s3://bucket/prefix (a bucket of 3-63 lowercase letters, digits, '-' or '.', and a prefix without '.', '..' or empty parts)".into(),
            });
        }
        Ok(Location::S3 {
            bucket: bucket.to_string(),
            prefix,
        })
    }
}

/// The store's futures run here: two threads, never dropped (dropping a runtime inside
/// another one's task panics, and the lake is cloned into many places).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cdncost-store")
            .enable_all()
            .build()
            .expect("a runtime for the object store")
    })
}

/// Runs `future` to its end on the store's runtime, from any thread (also from inside
/// another runtime's task, where `block_on` would panic).
fn block<T: Send + 'static>(future: impl Future<Output = T> + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime().spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv()
        .expect("the object-store runtime finishes what it is given")
}

/// An object as read, with the version a conditional write names.
pub struct Versioned {
    pub bytes: Bytes,
    pub e_tag: Option<String>,
}

/// The keys a publish is about to upload, written before the first upload starts.
#[derive(Debug, serde::Serialize, Deserialize)]
struct Journal {
    writer: String,
    keys: Vec<String>,
}

/// A multipart upload the store holds open.
#[derive(Debug, Clone)]
pub struct PendingUpload {
    pub key: String,
    pub upload_id: String,
    pub initiated: String,
}

/// One lake on one bucket.
pub struct ObjectLake {
    store: Arc<AmazonS3>,
    bucket: String,
    /// Below the bucket, no leading or trailing `/` (may be empty).
    prefix: String,
    /// `https://endpoint/bucket` (or the virtual-hosted form): for the one call
    /// object_store does not make, ListMultipartUploads.
    bucket_url: String,
    region: String,
    /// The same settings for polars' scans.
    polars: Vec<(AmazonS3ConfigKey, String)>,
    secrets: Vec<Secret>,
    pub part_size: usize,
    pub lease_ttl: Duration,
    pub conditional_put: bool,
    pub staging: PathBuf,
    /// No access key was given (settings or environment).
    keyless: bool,
}

impl std::fmt::Debug for ObjectLake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectLake")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

const MIB: usize = 1024 * 1024;

/// An object's size and ETag, as a listing or a lookup gives them.
pub type Stat = (u64, Option<String>);

impl ObjectLake {
    pub fn open(bucket: &str, prefix: &str, settings: &S3Settings) -> Result<Self, LakeError> {
        let location = format!("s3://{bucket}/{prefix}");
        let bad = |why: String| LakeError::BadLocation {
            location: location.clone(),
            why,
        };
        let mut pairs: Vec<(AmazonS3ConfigKey, String)> = Vec::new();
        let mut set = |key: AmazonS3ConfigKey, value: Option<String>| {
            if let Some(value) = value {
                pairs.push((key, value));
            }
        };
        set(AmazonS3ConfigKey::Endpoint, settings.endpoint.clone());
        set(AmazonS3ConfigKey::Region, settings.region.clone());
        set(
            AmazonS3ConfigKey::Client(object_store::ClientConfigKey::AllowHttp),
            settings.allow_http.map(|b| b.to_string()),
        );
        set(
            AmazonS3ConfigKey::VirtualHostedStyleRequest,
            settings.virtual_hosted_style.map(|b| b.to_string()),
        );
        set(
            AmazonS3ConfigKey::AccessKeyId,
            settings.access_key_id.clone(),
        );
        set(
            AmazonS3ConfigKey::SecretAccessKey,
            settings
                .secret_access_key
                .as_ref()
                .map(|s| s.expose().to_string()),
        );
        set(
            AmazonS3ConfigKey::Token,
            settings
                .session_token
                .as_ref()
                .map(|s| s.expose().to_string()),
        );
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (key, value) in &pairs {
            builder = builder.with_config(*key, value);
        }
        // The values in force (settings over environment), for polars and the raw call.
        let value = |key: AmazonS3ConfigKey| builder.get_config_value(&key);
        let region = value(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".into());
        let endpoint = value(AmazonS3ConfigKey::Endpoint);
        let virtual_hosted = value(AmazonS3ConfigKey::VirtualHostedStyleRequest)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let bucket_url = match (&endpoint, virtual_hosted) {
            (Some(e), true) => e.trim_end_matches('/').to_string(),
            (Some(e), false) => format!("{}/{bucket}", e.trim_end_matches('/')),
            (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
            (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
        };
        let allow_http = value(AmazonS3ConfigKey::Client(
            object_store::ClientConfigKey::AllowHttp,
        ))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if let (Some(endpoint), false) = (&endpoint, allow_http) {
            if endpoint.starts_with("http://") {
                return Err(bad(format!(
                    "the endpoint {endpoint} is plain HTTP: set AWS_ALLOW_HTTP=true or [lake.s3] allow_http = true (a local MinIO), or use https://"
                )));
            }
        }
        // Without keys object_store asks the instance's metadata service: say so when
        // that fails, instead of leaving a link-local address to puzzle over.
        let keyless = value(AmazonS3ConfigKey::AccessKeyId).is_none()
            && [
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            ]
            .iter()
            .all(|v| std::env::var_os(v).is_none());
        builder = builder.with_region(&region);
        let mut polars = Vec::new();
        for key in [
            AmazonS3ConfigKey::Endpoint,
            AmazonS3ConfigKey::Region,
            AmazonS3ConfigKey::AccessKeyId,
            AmazonS3ConfigKey::SecretAccessKey,
            AmazonS3ConfigKey::Token,
            AmazonS3ConfigKey::VirtualHostedStyleRequest,
            AmazonS3ConfigKey::Client(object_store::ClientConfigKey::AllowHttp),
        ] {
            if let Some(v) = builder.get_config_value(&key) {
                polars.push((key, v));
            }
        }
        // The key id is not a secret, but it names the account: kept out of messages too.
        let secrets: Vec<Secret> = [
            AmazonS3ConfigKey::SecretAccessKey,
            AmazonS3ConfigKey::Token,
            AmazonS3ConfigKey::AccessKeyId,
        ]
        .into_iter()
        .filter_map(|k| builder.get_config_value(&k))
        .map(Secret::new)
        .collect();
        let store = builder
            .build()
            .map_err(|e| bad(scrub(&e.to_string(), &secrets.iter().collect::<Vec<_>>())))?;
        let part_size = settings.part_size_mib.unwrap_or(8);
        if !(5..=512).contains(&part_size) {
            return Err(bad(format!(
                "[lake.s3] part_size_mib = {part_size}: a part is 5 to 512 MiB (S3 refuses parts under 5 MiB)"
            )));
        }
        let staging = settings.staging.clone().unwrap_or_else(|| {
            std::env::temp_dir()
                .join("cdncost-staging")
                .join(bucket)
                .join(prefix)
        });
        Ok(ObjectLake {
            store: Arc::new(store),
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            bucket_url,
            region,
            polars,
            secrets,
            part_size: part_size * MIB,
            lease_ttl: Duration::from_secs(settings.lease_seconds.unwrap_or(300).max(3)),
            conditional_put: settings.conditional_put.unwrap_or(true),
            staging,
            keyless,
        })
    }

    /// `s3://bucket/prefix`
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// The URL of a lake-relative path (for polars' scans).
    pub fn url_of(&self, rel: &str) -> String {
        format!("{}/{rel}", self.url())
    }

    /// The store settings polars scans with.
    pub fn polars_options(&self) -> polars::prelude::cloud::CloudOptions {
        polars::prelude::cloud::CloudOptions::default().with_aws(self.polars.clone())
    }

    fn key(&self, rel: &str) -> Key {
        let full = if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.prefix)
        };
        Key::from(full)
    }

    fn rel_of(&self, key: &str) -> Option<String> {
        if self.prefix.is_empty() {
            return Some(key.to_string());
        }
        key.strip_prefix(&self.prefix)?
            .strip_prefix('/')
            .map(str::to_string)
    }

    fn error(&self, action: &str, rel: &str, e: impl std::fmt::Display) -> LakeError {
        let mut message = scrub(&e.to_string(), &self.secrets.iter().collect::<Vec<_>>());
        if self.keyless {
            message.push_str(" (no access key was given: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or [lake.s3] access_key_id and secret_access_key; without them the instance's metadata service is asked)");
        }
        LakeError::Store {
            location: self.url_of(rel),
            action: action.to_string(),
            message,
        }
    }

    /// The object's bytes; `None` when there is none.
    pub fn get(&self, rel: &str) -> Result<Option<Versioned>, LakeError> {
        self.get_many(&[rel.to_string()])
            .pop()
            .expect("one answer for one object")
    }

    /// [`ObjectLake::get`] of many objects, 32 requests at a time, in the order asked.
    pub fn get_many(&self, rels: &[String]) -> Vec<Result<Option<Versioned>, LakeError>> {
        use futures::StreamExt;
        let store = self.store.clone();
        let keys: Vec<Key> = rels.iter().map(|r| self.key(r)).collect();
        let got = block(async move {
            futures::stream::iter(keys)
                .map(|key| {
                    let store = store.clone();
                    async move {
                        let result = store.get(&key).await?;
                        let e_tag = result.meta.e_tag.clone();
                        Ok::<_, object_store::Error>((result.bytes().await?, e_tag))
                    }
                })
                .buffered(32)
                .collect::<Vec<_>>()
                .await
        });
        got.into_iter()
            .zip(rels)
            .map(|(got, rel)| match got {
                Ok((bytes, e_tag)) => Ok(Some(Versioned { bytes, e_tag })),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(self.error("reading", rel, e)),
            })
            .collect()
    }

    /// The object's size; `None` when there is none.
    pub fn size(&self, rel: &str) -> Result<Option<u64>, LakeError> {
        Ok(self.stat(rel)?.map(|(size, _)| size))
    }

    /// The object's size and ETag; `None` when there is none.
    pub fn stat(&self, rel: &str) -> Result<Option<Stat>, LakeError> {
        let (store, key) = (self.store.clone(), self.key(rel));
        match block(async move { store.head(&key).await }) {
            Ok(meta) => Ok(Some((meta.size, meta.e_tag))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("looking up", rel, e)),
        }
    }

    /// The bytes of `range` of the object at `rel`.
    pub fn read_range(&self, rel: &str, range: std::ops::Range<u64>) -> Result<Bytes, LakeError> {
        let (store, key) = (self.store.clone(), self.key(rel));
        block(async move { store.get_range(&key, range).await })
            .map_err(|e| self.error("reading", rel, e))
    }

    /// Every object below `rel_dir` (recursively), as (lake-relative path, size).
    pub fn list(&self, rel_dir: &str) -> Result<Vec<(String, u64)>, LakeError> {
        Ok(self
            .list_stats(rel_dir)?
            .into_iter()
            .map(|(rel, (size, _))| (rel, size))
            .collect())
    }

    /// Every object below `rel_dir` (recursively), as (lake-relative path, its stat).
    pub fn list_stats(&self, rel_dir: &str) -> Result<Vec<(String, Stat)>, LakeError> {
        let (store, key) = (self.store.clone(), self.key(rel_dir.trim_end_matches('/')));
        let listed = block(async move { store.list(Some(&key)).try_collect::<Vec<_>>().await })
            .map_err(|e| self.error("listing", rel_dir, e))?;
        Ok(listed
            .into_iter()
            .filter_map(|meta| {
                Some((
                    self.rel_of(meta.location.as_ref())?,
                    (meta.size, meta.e_tag),
                ))
            })
            .collect())
    }

    /// Puts `bytes` at `rel` in one request, replacing what is there.
    pub fn put(&self, rel: &str, bytes: Bytes) -> Result<(), LakeError> {
        let (store, key) = (self.store.clone(), self.key(rel));
        block(async move { store.put(&key, PutPayload::from_bytes(bytes)).await })
            .map(|_| ())
            .map_err(|e| self.error("writing", rel, e))
    }

    /// Puts `bytes` at `rel` only if nothing is there (`If-None-Match: *`): its version,
    /// or `None` when an object was there first.
    pub fn put_if_absent(&self, rel: &str, bytes: Bytes) -> Result<Option<String>, LakeError> {
        self.put_conditional(rel, bytes, PutMode::Create)
    }

    /// Replaces the object at `rel` only if it is still at version `e_tag` (`If-Match`):
    /// its new version, or `None` when someone else changed it first.
    pub fn put_if_unchanged(
        &self,
        rel: &str,
        bytes: Bytes,
        e_tag: &str,
    ) -> Result<Option<String>, LakeError> {
        let version = UpdateVersion {
            e_tag: Some(e_tag.to_string()),
            version: None,
        };
        self.put_conditional(rel, bytes, PutMode::Update(version))
    }

    fn put_conditional(
        &self,
        rel: &str,
        bytes: Bytes,
        mode: PutMode,
    ) -> Result<Option<String>, LakeError> {
        let (store, key) = (self.store.clone(), self.key(rel));
        let options = PutOptions {
            mode,
            ..Default::default()
        };
        match block(async move { store.put_opts(&key, bytes.into(), options).await }) {
            Ok(result) => Ok(Some(result.e_tag.unwrap_or_default())),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. }
                | object_store::Error::NotFound { .. },
            ) => Ok(None),
            Err(e) => Err(self.error("writing (conditionally)", rel, e)),
        }
    }

    /// Copies `from` to `to`: `false` when there is no `from`.
    pub fn copy(&self, from: &str, to: &str) -> Result<bool, LakeError> {
        let (store, source, target) = (self.store.clone(), self.key(from), self.key(to));
        match block(async move { store.copy(&source, &target).await }) {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error("copying", from, e)),
        }
    }

    /// Removes the object at `rel`; one already gone is not an error.
    pub fn delete(&self, rel: &str) -> Result<(), LakeError> {
        let (store, key) = (self.store.clone(), self.key(rel));
        match block(async move { store.delete(&key).await }) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("removing", rel, e)),
        }
    }

    /// Publishes local files to their keys as one unit: every file goes up as a
    /// multipart upload, and none is completed until all parts of all files are in, so
    /// a reader sees none of them or (after the last completion, milliseconds later) all.
    /// Before anything is created, the keys are written to the journal `journal_rel`: a
    /// writer killed mid-upload leaves uploads that the next publish of the same unit
    /// (or the day-old sweep) aborts. On any failure every upload is aborted.
    pub fn publish_files(
        &self,
        journal_rel: &str,
        files: &[(PathBuf, String)],
        before_completing: &dyn Fn() -> Result<(), LakeError>,
    ) -> Result<Vec<Option<String>>, LakeError> {
        self.abort_journaled(journal_rel)?;
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let journal = Journal {
            writer: crate::util::process::this_writer(),
            keys: files
                .iter()
                .map(|(_, rel)| self.key(rel).to_string())
                .collect(),
        };
        let json = serde_json::to_vec_pretty(&journal).expect("a journal serializes");
        self.put(journal_rel, Bytes::from(json))?;
        let mut started: Vec<(Key, object_store::MultipartId, String)> = Vec::new();
        let result = (|| {
            let mut parts = Vec::with_capacity(files.len());
            for (local, rel) in files {
                let (store, key) = (self.store.clone(), self.key(rel));
                let id = block({
                    let key = key.clone();
                    async move { store.create_multipart(&key).await }
                })
                .map_err(|e| self.error("starting the upload of", rel, e))?;
                started.push((key, id, rel.clone()));
                let (key, id, _) = started.last().expect("just pushed");
                parts.push(self.upload_parts(local, rel, key, id)?);
            }
            before_completing()?;
            let mut etags = Vec::with_capacity(started.len());
            for ((key, id, rel), parts) in started.iter().zip(parts) {
                let (store, key, id) = (self.store.clone(), key.clone(), id.clone());
                let done = block(async move { store.complete_multipart(&key, &id, parts).await })
                    .map_err(|e| self.error("completing the upload of", rel, e))?;
                etags.push(done.e_tag);
            }
            Ok(etags)
        })();
        if result.is_err() {
            for (key, id, _) in &started {
                let (store, key, id) = (self.store.clone(), key.clone(), id.clone());
                let _ = block(async move { store.abort_multipart(&key, &id).await });
            }
        }
        let etags = result?;
        self.delete(journal_rel)?;
        Ok(etags)
    }

    /// Sends `local` as the parts of upload `id`: `part_size` each, two in flight (one
    /// sending while the next is read), so memory stays at two parts whatever the size.
    fn upload_parts(
        &self,
        local: &Path,
        rel: &str,
        key: &Key,
        id: &object_store::MultipartId,
    ) -> Result<Vec<PartId>, LakeError> {
        use std::io::Read;
        let mut file = std::fs::File::open(local).map_err(super::io_err(local))?;
        let mut parts: Vec<PartId> = Vec::new();
        let mut in_flight: Option<tokio::task::JoinHandle<object_store::Result<PartId>>> = None;
        let mut index = 0;
        loop {
            let mut buf = Vec::with_capacity(self.part_size);
            (&mut file)
                .take(self.part_size as u64)
                .read_to_end(&mut buf)
                .map_err(super::io_err(local))?;
            if let Some(previous) = in_flight.take() {
                let part = block(previous)
                    .map_err(|e| self.error("uploading a part of", rel, e))?
                    .map_err(|e| self.error("uploading a part of", rel, e))?;
                parts.push(part);
            }
            // An empty file is one empty part (S3 needs at least one).
            if buf.is_empty() && index > 0 {
                break;
            }
            let (store, key, id) = (self.store.clone(), key.clone(), id.clone());
            let this = index;
            in_flight = Some(runtime().spawn(async move {
                store
                    .put_part(&key, &id, this, Bytes::from(buf).into())
                    .await
            }));
            index += 1;
        }
        Ok(parts)
    }

    /// Aborts the uploads a killed writer journaled at `journal_rel`, then the journal.
    fn abort_journaled(&self, journal_rel: &str) -> Result<(), LakeError> {
        let Some(found) = self.get(journal_rel)? else {
            return Ok(());
        };
        let journal: Journal = match serde_json::from_slice(&found.bytes) {
            Ok(journal) => journal,
            Err(e) => {
                tracing::warn!("upload journal {journal_rel} is damaged ({e}): removing it");
                return self.delete(journal_rel);
            }
        };
        tracing::info!(
            "{journal_rel}: a writer ({}) stopped while uploading; aborting what it left",
            journal.writer
        );
        // Only this lake's keys, whatever the journal says.
        for key in journal.keys.iter().filter(|k| self.rel_of(k).is_some()) {
            for upload in self.pending_uploads(key)? {
                if &upload.key == key {
                    self.abort(&upload)?;
                }
            }
        }
        self.delete(journal_rel)
    }

    /// Aborts the lake's open uploads started more than `age` ago that no journal names:
    /// those belong to writers that died where no journal says so. A journaled upload is
    /// left to the next publish of its unit (its writer may be alive and slow, and some
    /// stores, moto among them, report a fixed start time).
    pub fn abort_stale_uploads(&self, age: Duration) -> Result<usize, LakeError> {
        let cutoff = chrono::Utc::now() - chrono::Duration::from_std(age).unwrap_or_default();
        // Uploads first, journals second: a writer journals its keys before it starts
        // their uploads, so every upload listed here is named by a journal listed after
        // it, unless its writer completed it meanwhile (then the abort finds nothing).
        let stale: Vec<PendingUpload> = self
            .pending_uploads(&self.prefix)?
            .into_iter()
            .filter(|upload| {
                chrono::DateTime::parse_from_rfc3339(&upload.initiated)
                    .is_ok_and(|t| t.with_timezone(&chrono::Utc) < cutoff)
            })
            .collect();
        if stale.is_empty() {
            return Ok(0);
        }
        let journals: Vec<String> = self
            .list(super::UPLOADS_DIR)?
            .into_iter()
            .map(|(rel, _)| rel)
            .collect();
        let journaled: std::collections::BTreeSet<String> = self
            .get_many(&journals)
            .into_iter()
            .filter_map(|got| got.ok().flatten())
            .filter_map(|object| serde_json::from_slice::<Journal>(&object.bytes).ok())
            .flat_map(|journal| journal.keys)
            .collect();
        let mut aborted = 0;
        for upload in stale.iter().filter(|u| !journaled.contains(&u.key)) {
            match self.abort(upload) {
                Ok(()) => aborted += 1,
                // Completed or aborted by its writer meanwhile: nothing left to do.
                Err(e) => tracing::debug!("{e}"),
            }
        }
        Ok(aborted)
    }

    /// Every open multipart upload of the lake's bucket whose key starts with
    /// `key_prefix`. object_store has no call for ListMultipartUploads: it is made here,
    /// signed by object_store's own SigV4 signer with the store's credentials.
    pub fn pending_uploads(&self, key_prefix: &str) -> Result<Vec<PendingUpload>, LakeError> {
        let mut uploads = Vec::new();
        let mut markers: Option<(String, String)> = None;
        loop {
            let mut url = url::Url::parse(&self.bucket_url)
                .map_err(|e| self.error("listing the uploads of", "", e))?;
            {
                let mut query = url.query_pairs_mut();
                query.append_pair("uploads", "");
                if !key_prefix.is_empty() {
                    query.append_pair("prefix", key_prefix);
                }
                if let Some((key, id)) = &markers {
                    query.append_pair("key-marker", key);
                    query.append_pair("upload-id-marker", id);
                }
            }
            let body = self.signed_get(url)?;
            let page = parse_uploads(&body);
            uploads.extend(page.uploads);
            match page.next {
                Some(next) => markers = Some(next),
                None => break,
            }
        }
        Ok(uploads)
    }

    fn abort(&self, upload: &PendingUpload) -> Result<(), LakeError> {
        let (store, key, id) = (
            self.store.clone(),
            Key::from(upload.key.as_str()),
            upload.upload_id.clone(),
        );
        tracing::info!(
            "aborting an upload a stopped writer left open: s3://{}/{}",
            self.bucket,
            upload.key
        );
        block(async move { store.abort_multipart(&key, &id).await })
            .map_err(|e| self.error("aborting an upload of", &upload.key, e))
    }

    /// A GET signed with the store's credentials; the body as text.
    fn signed_get(&self, url: url::Url) -> Result<String, LakeError> {
        let store = self.store.clone();
        let region = self.region.clone();
        let text = block(async move {
            let credential = store.credentials().get_credential().await?;
            let mut request = http::Request::builder()
                .method(http::Method::GET)
                .uri(url.as_str())
                .body(object_store::client::HttpRequestBody::from(Vec::<u8>::new()))
                .map_err(|e| object_store::Error::Generic {
                    store: "S3",
                    source: Box::new(e),
                })?;
            AwsAuthorizer::new(&credential, "s3", &region).authorize(&mut request, None);
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .map_err(|e| generic(e.into()))?;
            let mut outgoing = client.get(url.as_str());
            for (name, value) in request.headers() {
                outgoing = outgoing.header(name.as_str(), value.as_bytes());
            }
            let response = outgoing.send().await.map_err(|e| generic(e.into()))?;
            let status = response.status();
            let text = response.text().await.map_err(|e| generic(e.into()))?;
            if !status.is_success() {
                return Err(generic(format!("HTTP {status}: {text}").into()));
            }
            Ok(text)
        });
        text.map_err(|e| self.error("listing the open uploads of", "", e))
    }
}

fn generic(source: Box<dyn std::error::Error + Send + Sync>) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source,
    }
}

struct UploadsPage {
    uploads: Vec<PendingUpload>,
    /// (NextKeyMarker, NextUploadIdMarker) when the listing is truncated.
    next: Option<(String, String)>,
}

/// The `<Upload>` entries of a ListMultipartUploadsResult (keys are the lake's own safe
/// names, so a plain scan of the elements is enough).
fn parse_uploads(xml: &str) -> UploadsPage {
    fn element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(&text[start..end])
    }
    fn unescape(text: &str) -> String {
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    }
    let uploads = xml
        .split("<Upload>")
        .skip(1)
        .filter_map(|chunk| {
            let chunk = chunk.split("</Upload>").next()?;
            Some(PendingUpload {
                key: unescape(element(chunk, "Key")?),
                upload_id: unescape(element(chunk, "UploadId")?),
                initiated: element(chunk, "Initiated").unwrap_or("").to_string(),
            })
        })
        .collect();
    let truncated = element(xml, "IsTruncated").is_some_and(|t| t.trim() == "true");
    let next = truncated
        .then(|| {
            Some((
                unescape(element(xml, "NextKeyMarker")?),
                unescape(element(xml, "NextUploadIdMarker")?),
            ))
        })
        .flatten();
    UploadsPage { uploads, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse("lake").unwrap(),
            Location::Dir(PathBuf::from("lake"))
        );
        assert_eq!(
            Location::parse("s3://studio-lake/prod/lake/").unwrap(),
            Location::S3 {
                bucket: "studio-lake".into(),
                prefix: "prod/lake".into()
            }
        );
        assert_eq!(
            Location::parse("s3://studio-lake").unwrap(),
            Location::S3 {
                bucket: "studio-lake".into(),
                prefix: String::new()
            }
        );
        assert!(matches!(
            Location::parse("oss://b/p"),
            Err(LakeError::UnknownScheme { .. })
        ));
        assert!(matches!(
            Location::parse("s3://Bad_Bucket/p"),
            Err(LakeError::BadLocation { .. })
        ));
        assert!(matches!(
            Location::parse("s3://bucket/../p"),
            Err(LakeError::BadLocation { .. })
        ));
    }

    #[test]
    fn uploads_listing() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>true</IsTruncated>
<NextKeyMarker>lake/b.parquet</NextKeyMarker><NextUploadIdMarker>id2</NextUploadIdMarker>
<Upload><Key>lake/a&amp;b.parquet</Key><UploadId>id1</UploadId><Initiated>2026-12-04T10:00:00.000Z</Initiated></Upload>
<Upload><Key>lake/b.parquet</Key><UploadId>id2</UploadId><Initiated>2026-12-04T11:00:00.000Z</Initiated></Upload>
</ListMultipartUploadsResult>"#;
        let page = parse_uploads(xml);
        assert_eq!(page.uploads.len(), 2);
        assert_eq!(page.uploads[0].key, "lake/a&b.parquet");
        assert_eq!(page.uploads[1].upload_id, "id2");
        assert_eq!(
            page.next,
            Some(("lake/b.parquet".to_string(), "id2".to_string()))
        );
        assert!(parse_uploads("<ListMultipartUploadsResult/>")
            .uploads
            .is_empty());
    }
}
