//! Parquet files written into the lake, row group by row group, staged (see the module
//! above) and checksummed as they are written.
//!
//! Two writers share the staging: [`ParquetSink`] takes polars DataFrames (small tables,
//! reports) through polars' own writer; [`RowGroupSink`] takes ready Arrow arrays (the
//! ingest tables, millions of rows a file) and writes each column with the encoding its
//! table declares ([`super::columns`]), through the same `polars-parquet` crate polars
//! uses, so the files are the same to every reader.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use polars::io::parquet::write::{
    BatchedWriter, KeyValueMetadata, ParquetCompression, ParquetWriter, StatisticsOptions,
};
use polars::polars_utils::compression::ZstdLevel;
use polars::prelude::*;
use polars_arrow::array::Array;
use polars_arrow::datatypes::{ArrowDataType, ArrowSchema, Field as ArrowField};
use polars_parquet::parquet::compression::Compression;
use polars_parquet::parquet::error::ParquetError;
use polars_parquet::parquet::page::{
    CompressedDataPage, CompressedDictPage, CompressedPage, DataPageHeader, Page,
};
use polars_parquet::parquet::CowBuffer;
use polars_parquet::write::{
    array_to_columns, schema_to_metadata_key, to_parquet_schema, CompressionOptions, DynIter,
    DynStreamingIterator, Encoding, FallibleStreamingIterator, FileWriter, ParquetType, Version,
    WriteOptions,
};

use super::columns::{ColumnPlan, NumberEncoding, RowGroup};
use super::{create_staged, io_err, sums, LakeError, ParquetOptions, StagedFile};

type Out = BufWriter<sums::Summing<File>>;

/// A staged file being written: the buffered, summed writer goes to the encoder, the rest
/// stays here to sync and seal the file once its footer is written.
struct Staging {
    /// A second handle on the same file, to sync it once the footer is flushed.
    file: File,
    staged: StagedFile,
    sum: sums::SumHandle,
}

impl Staging {
    fn create(final_path: &Path) -> Result<(Out, Staging), LakeError> {
        let (file, staged) = create_staged(final_path)?;
        let sync_handle = file.try_clone().map_err(io_err(final_path))?;
        // Summed below the buffer: once per megabyte written, not per Parquet write.
        let (file, sum) = sums::Summing::new(file);
        let staging = Staging {
            file: sync_handle,
            staged,
            sum,
        };
        Ok((BufWriter::with_capacity(1 << 20, file), staging))
    }

    /// Syncs the file whose footer was written; it is complete but not yet published.
    fn seal(self) -> Result<StagedFile, LakeError> {
        self.file
            .sync_all()
            .map_err(io_err(self.staged.final_path()))?;
        let mut staged = self.staged;
        staged.sum = Some(self.sum.sum());
        Ok(staged)
    }

    fn error(&self, source: PolarsError) -> LakeError {
        LakeError::Parquet {
            path: self.staged.final_path.clone(),
            source,
        }
    }
}

/// The Arrow types a file declares (its `ARROW:schema`): text and bytes as `large_string`
/// and `large_binary`, the types every Arrow reader filters. polars' own choice, the
/// newest (`string_view`), is one pyarrow 26 cannot filter (`array_filter` has no kernel
/// for it) and older readers do not know. Only the declaration changes: the Parquet
/// columns are the same `BYTE_ARRAY`s either way, and polars reads both as strings.
const READERS_ARROW_TYPES: CompatLevel = CompatLevel::oldest();

fn zstd(options: ParquetOptions, path: &Path) -> Result<ZstdLevel, LakeError> {
    ZstdLevel::try_new(options.zstd_level).map_err(|source| LakeError::Parquet {
        path: path.to_path_buf(),
        source,
    })
}

/// A Parquet file of DataFrames, written by polars.
pub struct ParquetSink {
    writer: BatchedWriter<Out>,
    staging: Staging,
}

impl ParquetSink {
    pub fn create(
        final_path: &Path,
        schema: &Schema,
        options: ParquetOptions,
    ) -> Result<Self, LakeError> {
        let level = zstd(options, final_path)?;
        let (out, staging) = Staging::create(final_path)?;
        let writer = ParquetWriter::new(out)
            .with_compression(ParquetCompression::Zstd(Some(level)))
            .with_statistics(StatisticsOptions::default())
            .with_row_group_size(Some(options.row_group_rows))
            .with_key_value_metadata(Some(KeyValueMetadata::Static(vec![
                schema_to_metadata_key(&schema.to_arrow(READERS_ARROW_TYPES)),
            ])))
            // Parallelism comes from ingesting several files at once (--jobs); a second
            // layer of threads inside one file would fight it for the same cores.
            .set_parallel(false)
            .batched(schema)
            .map_err(|source| staging.error(source))?;
        Ok(ParquetSink { writer, staging })
    }

    pub fn write(&mut self, frame: &DataFrame) -> Result<(), LakeError> {
        self.writer
            .write_batch(frame)
            .map_err(|source| self.staging.error(source))
    }

    /// Writes the footer and syncs; the file is complete but not yet published.
    pub fn finish(self) -> Result<StagedFile, LakeError> {
        // Writing the footer flushes the buffered writer down to the file.
        self.writer
            .finish()
            .map_err(|source| self.staging.error(source))?;
        self.staging.seal()
    }
}

/// Writes a whole frame as one staged Parquet file (for small tables).
pub fn stage_frame(
    final_path: &Path,
    frame: &DataFrame,
    options: ParquetOptions,
) -> Result<StagedFile, LakeError> {
    let mut sink = ParquetSink::create(final_path, frame.schema(), options)?;
    sink.write(frame)?;
    sink.finish()
}

/// A table's columns as readers see them (the types polars would declare for the same
/// data, text as `large_string`), and how each is written.
pub struct TableSchema {
    arrow: ArrowSchema,
    parquet: Vec<ParquetType>,
    plans: Vec<ColumnPlan>,
}

impl TableSchema {
    /// `columns`: name, type as polars declares it, plan; every column may hold missing
    /// values.
    pub fn new(columns: Vec<(&str, DataType, ColumnPlan)>) -> Self {
        let plans = columns.iter().map(|c| c.2).collect();
        let arrow: ArrowSchema = columns
            .into_iter()
            .map(|(name, dtype, _)| {
                ArrowField::new(name.into(), dtype.to_arrow(READERS_ARROW_TYPES), true)
            })
            .collect();
        let parquet = to_parquet_schema(&arrow)
            .expect("the tables' declared types all have a Parquet type")
            .fields()
            .to_vec();
        TableSchema {
            arrow,
            parquet,
            plans,
        }
    }
}

/// A Parquet file of one table's [`RowGroup`]s, each column written as its
/// [`ColumnPlan`] says.
pub struct RowGroupSink {
    writer: FileWriter<Out>,
    staging: Staging,
    schema: &'static TableSchema,
    /// One zstd context for the file's pages, made on the first row group.
    zstd: Option<zstd::bulk::Compressor<'static>>,
    level: i32,
}

impl RowGroupSink {
    pub fn create(
        final_path: &Path,
        schema: &'static TableSchema,
        options: ParquetOptions,
    ) -> Result<Self, LakeError> {
        let compression = CompressionOptions::Zstd(Some(zstd(options, final_path)?));
        let (out, staging) = Staging::create(final_path)?;
        // No statistics at the file level: that switch only decides whether a column index
        // (the page index's min/max half) is written, for every column at once. Columns
        // still get their chunk statistics from their own options in `write`.
        let writer = FileWriter::try_new(
            out,
            schema.arrow.clone(),
            write_options(compression, StatisticsOptions::empty()),
        )
        .map_err(|source| staging.error(source))?;
        Ok(RowGroupSink {
            writer,
            staging,
            schema,
            zstd: None,
            level: options.zstd_level,
        })
    }

    fn new_zstd(&self) -> Result<zstd::bulk::Compressor<'static>, LakeError> {
        zstd::bulk::Compressor::new(self.level)
            .map_err(|source| self.staging.error(PolarsError::from(source)))
    }

    /// Writes one row group: each column encoded as its array and plan say, then
    /// compressed page by page.
    pub fn write(&mut self, group: RowGroup) -> Result<(), LakeError> {
        if group.height == 0 {
            return Ok(());
        }
        let (schema, compression) = (self.schema, self.writer.options().compression);
        // The file's zstd context, shared by this row group's columns (written one after
        // the other, so the lock is never contended) and taken back once they are.
        let zstd = Arc::new(Mutex::new(match self.zstd.take() {
            Some(zstd) => zstd,
            None => self.new_zstd()?,
        }));
        let mut columns = Vec::with_capacity(group.arrays.len());
        for ((array, parquet), plan) in group.arrays.iter().zip(&schema.parquet).zip(&schema.plans)
        {
            let options = write_options(compression, column_statistics(plan));
            let encoding = encoding_for(array.as_ref(), plan);
            let pages = array_to_columns(array, parquet.clone(), options, &[encoding])
                .map_err(|source| self.staging.error(source))?;
            for pages in pages {
                let pages =
                    pages.map(|page| page.map_err(|e| ParquetError::OutOfSpec(e.to_string())));
                let compressed = PageCompressor {
                    pages,
                    zstd: zstd.clone(),
                    current: None,
                };
                columns.push(Ok(DynStreamingIterator::new(compressed)));
            }
        }
        let written = self
            .writer
            .write(group.height as u64, DynIter::new(columns.into_iter()))
            .map_err(|source| self.staging.error(source));
        // The writer has dropped the columns' iterators, whether it failed or not.
        self.zstd = Arc::try_unwrap(zstd)
            .ok()
            .and_then(|zstd| zstd.into_inner().ok());
        written
    }

    /// Writes the footer (with the declared Arrow schema) and syncs; the file is complete
    /// but not yet published.
    pub fn finish(self) -> Result<StagedFile, LakeError> {
        let RowGroupSink {
            mut writer,
            staging,
            ..
        } = self;
        writer.end(None).map_err(|source| staging.error(source))?;
        writer
            .into_inner()
            .flush()
            .map_err(io_err(staging.staged.final_path()))?;
        staging.seal()
    }
}

/// Compresses one column's pages with the file's zstd context, each into a buffer that is
/// not zero-filled first. polars-parquet's own `Compressor` makes a new context for every
/// page and zero-fills a buffer of the worst-case size before compressing into it: about
/// 2 % of an ingest's instructions. The compressed bytes are the same (same level, same
/// parameters, one frame per page).
struct PageCompressor<I> {
    pages: I,
    zstd: Arc<Mutex<zstd::bulk::Compressor<'static>>>,
    current: Option<CompressedPage>,
}

impl<I: Iterator<Item = Result<Page, ParquetError>>> PageCompressor<I> {
    fn compress(&self, page: Page) -> Result<CompressedPage, PolarsError> {
        let mut zstd = self
            .zstd
            .lock()
            .map_err(|_| PolarsError::ComputeError("a zstd context poisoned by a panic".into()))?;
        // Into a new buffer's spare capacity (the length is set after): no zero-filling.
        let mut squeeze = |input: &[u8]| -> Result<Vec<u8>, PolarsError> {
            let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(input.len()));
            zstd.compress_to_buffer(input, &mut out)?;
            Ok(out)
        };
        Ok(match page {
            Page::Data(page) => {
                let input = page.buffer();
                let out = match page.header() {
                    DataPageHeader::V1(_) => squeeze(input)?,
                    DataPageHeader::V2(v2) => {
                        // Version 2 pages keep their levels uncompressed, ahead of the values.
                        let levels = (v2.repetition_levels_byte_length
                            + v2.definition_levels_byte_length)
                            as usize;
                        let mut out = input[..levels].to_vec();
                        out.extend_from_slice(&squeeze(&input[levels..])?);
                        out
                    }
                };
                let num_rows = page.num_rows.ok_or_else(|| {
                    PolarsError::ComputeError("a data page to write without its row count".into())
                })?;
                CompressedPage::Data(CompressedDataPage::new(
                    page.header().clone(),
                    CowBuffer::Owned(out),
                    Compression::Zstd,
                    input.len(),
                    page.descriptor.clone(),
                    num_rows,
                ))
            }
            Page::Dict(page) => {
                let out = squeeze(&page.buffer)?;
                CompressedPage::Dict(CompressedDictPage::new(
                    CowBuffer::Owned(out),
                    Compression::Zstd,
                    page.buffer.len(),
                    page.num_values,
                    page.is_sorted,
                ))
            }
        })
    }
}

impl<I: Iterator<Item = Result<Page, ParquetError>>> FallibleStreamingIterator
    for PageCompressor<I>
{
    type Item = CompressedPage;
    type Error = PolarsError;

    fn advance(&mut self) -> Result<(), PolarsError> {
        self.current = match self.pages.next() {
            Some(page) => Some(self.compress(page?)?),
            None => None,
        };
        Ok(())
    }

    fn get(&self) -> Option<&CompressedPage> {
        self.current.as_ref()
    }
}

fn write_options(compression: CompressionOptions, statistics: StatisticsOptions) -> WriteOptions {
    WriteOptions {
        statistics,
        version: Version::V1,
        compression,
        data_page_size: None,
    }
}

/// A column's chunk statistics: the null count always (a reader skips a row group for
/// `IS NULL` or `IS NOT NULL` by it), min/max where the plan asks for them.
fn column_statistics(plan: &ColumnPlan) -> StatisticsOptions {
    StatisticsOptions {
        min_value: plan.min_max,
        max_value: plan.min_max,
        ..StatisticsOptions::default()
    }
}

/// Dictionary arrays are written as dictionaries, numbers as their plan says, the rest
/// (text and bytes) plain.
fn encoding_for(array: &dyn Array, plan: &ColumnPlan) -> Encoding {
    match array.dtype() {
        ArrowDataType::Dictionary(..) => Encoding::RleDictionary,
        ArrowDataType::Int32 | ArrowDataType::Int64 => match plan.numbers {
            NumberEncoding::Plain => Encoding::Plain,
            NumberEncoding::Delta => Encoding::DeltaBinaryPacked,
            NumberEncoding::SmallRangeDictionary => Encoding::RleDictionary,
        },
        _ => Encoding::Plain,
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;

    use polars_parquet::parquet::statistics::Statistics;
    use polars_parquet::read::{read_metadata, FileMetadata};

    use super::*;
    use crate::lake::columns::{Numbers, Push, Strings};

    fn metadata_of(staged: &StagedFile) -> FileMetadata {
        read_metadata(&mut File::open(&staged.temp).unwrap()).unwrap()
    }

    /// A column's type as the file declares it (its `ARROW:schema`: a length-prefixed IPC
    /// schema, base64), not as polars would read it.
    fn declared(metadata: &FileMetadata, column: &str) -> ArrowDataType {
        use base64::Engine as _;
        let encoded = metadata
            .key_value_metadata
            .iter()
            .flatten()
            .find(|kv| kv.key == "ARROW:schema")
            .and_then(|kv| kv.value.clone())
            .expect("an ARROW:schema");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        let (schema, ..) = polars_arrow::io::ipc::read::deserialize_schema(&bytes[8..]).unwrap();
        schema.get(column).unwrap().dtype.clone()
    }

    /// What readers filter by must be true: no column index (one without min/max says
    /// "this page is all null", and engines skip it), a null count on every column,
    /// min/max only where the plan asks, and text declared as `large_string`.
    #[test]
    fn ingest_files_carry_true_statistics_and_plain_text_types() {
        let dir = tempfile::tempdir().unwrap();
        let schema: &'static TableSchema = Box::leak(Box::new(TableSchema::new(vec![
            (
                "ip",
                DataType::String,
                ColumnPlan {
                    min_max: false,
                    ..ColumnPlan::DEFAULT
                },
            ),
            ("raw", DataType::Binary, ColumnPlan::DEFAULT),
            ("bytes", DataType::Int64, ColumnPlan::DEFAULT),
        ])));
        let (mut ip, mut raw, mut bytes) = (Strings::new(4), Strings::new(4), Numbers::new(4));
        for (i, v) in [Some("1.2.3.4"), None, Some("::1")].into_iter().enumerate() {
            Push::push(&mut ip, v);
            Push::push(&mut raw, v.unwrap_or("").as_bytes());
            Push::push(&mut bytes, i as i64 * 10);
        }
        let path = dir.path().join("t.parquet");
        let mut sink = RowGroupSink::create(&path, schema, ParquetOptions::default()).unwrap();
        sink.write(RowGroup {
            height: 3,
            arrays: vec![ip.take(), raw.take(), bytes.take()],
        })
        .unwrap();
        let staged = sink.finish().unwrap();
        let metadata = metadata_of(&staged);
        let columns = metadata.row_groups[0].parquet_columns();
        assert!(columns.iter().all(|c| c.column_index_offset().is_none()));
        let statistics = |i: usize| {
            columns[i]
                .statistics(&metadata.footer_buf)
                .unwrap()
                .unwrap()
        };
        match statistics(0) {
            Statistics::Binary(s) => {
                assert_eq!(s.null_count, Some(1));
                assert_eq!((s.min_value, s.max_value), (None, None));
            }
            other => panic!("{other:?}"),
        }
        match statistics(2) {
            Statistics::Int64(s) => {
                assert_eq!(
                    (s.null_count, s.min_value, s.max_value),
                    (Some(0), Some(0), Some(20))
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(declared(&metadata, "ip"), ArrowDataType::LargeUtf8);
        assert_eq!(declared(&metadata, "raw"), ArrowDataType::LargeBinary);
    }

    /// polars' writer declares its text as `large_string` too.
    #[test]
    fn small_tables_declare_plain_text_types() {
        let dir = tempfile::tempdir().unwrap();
        let frame = df!("channel" => ["wxad", "douyin"], "n" => [1i64, 2]).unwrap();
        let staged = stage_frame(
            &dir.path().join("s.parquet"),
            &frame,
            ParquetOptions::default(),
        )
        .unwrap();
        let metadata = metadata_of(&staged);
        assert_eq!(declared(&metadata, "channel"), ArrowDataType::LargeUtf8);
        assert_eq!(declared(&metadata, "n"), ArrowDataType::Int64);
    }
}
