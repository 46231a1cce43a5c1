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

use polars::io::parquet::write::{
    BatchedWriter, ParquetCompression, ParquetWriter, StatisticsOptions,
};
use polars::polars_utils::compression::ZstdLevel;
use polars::prelude::*;
use polars_arrow::array::Array;
use polars_arrow::datatypes::{ArrowDataType, ArrowSchema, Field as ArrowField};
use polars_parquet::parquet::error::ParquetError;
use polars_parquet::write::{
    array_to_columns, to_parquet_schema, CompressionOptions, Compressor, DynIter,
    DynStreamingIterator, Encoding, FallibleStreamingIterator, FileWriter, ParquetType, Version,
    WriteOptions,
};

use super::columns::{ColumnPlan, NumberEncoding, RowGroup};
use super::{create_staged, integrity, io_err, LakeError, ParquetOptions, StagedFile};

type Out = BufWriter<integrity::Summing<File>>;

/// A staged file being written: the buffered, summed writer goes to the encoder, the rest
/// stays here to sync and seal the file once its footer is written.
struct Staging {
    /// A second handle on the same file, to sync it once the footer is flushed.
    file: File,
    staged: StagedFile,
    sum: integrity::SumHandle,
}

impl Staging {
    fn create(final_path: &Path) -> Result<(Out, Staging), LakeError> {
        let (file, staged) = create_staged(final_path)?;
        let sync_handle = file.try_clone().map_err(io_err(final_path))?;
        // Summed below the buffer: once per megabyte written, not per Parquet write.
        let (file, sum) = integrity::Summing::new(file);
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

/// A table's columns as readers see them (the types polars itself would declare for the
/// same data), and how each is written.
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
                ArrowField::new(name.into(), dtype.to_arrow(CompatLevel::newest()), true)
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
}

impl RowGroupSink {
    pub fn create(
        final_path: &Path,
        schema: &'static TableSchema,
        options: ParquetOptions,
    ) -> Result<Self, LakeError> {
        let compression = CompressionOptions::Zstd(Some(zstd(options, final_path)?));
        let (out, staging) = Staging::create(final_path)?;
        let writer =
            FileWriter::try_new(out, schema.arrow.clone(), write_options(compression, true))
                .map_err(|source| staging.error(source))?;
        Ok(RowGroupSink {
            writer,
            staging,
            schema,
        })
    }

    /// Writes one row group: each column encoded as its array and plan say, then
    /// compressed page by page.
    pub fn write(&mut self, group: RowGroup) -> Result<(), LakeError> {
        if group.height == 0 {
            return Ok(());
        }
        let (schema, compression) = (self.schema, self.writer.options().compression);
        let mut columns = Vec::with_capacity(group.arrays.len());
        for ((array, parquet), plan) in group.arrays.iter().zip(&schema.parquet).zip(&schema.plans)
        {
            let options = write_options(compression, plan.min_max);
            let encoding = encoding_for(array.as_ref(), plan);
            let pages = array_to_columns(array, parquet.clone(), options, &[encoding])
                .map_err(|source| self.staging.error(source))?;
            for pages in pages {
                let pages = DynIter::new(
                    pages.map(|page| page.map_err(|e| ParquetError::OutOfSpec(e.to_string()))),
                );
                let compressed =
                    Compressor::new(pages, compression, Vec::new()).map_err(PolarsError::from);
                columns.push(Ok(DynStreamingIterator::new(compressed)));
            }
        }
        self.writer
            .write(group.height as u64, DynIter::new(columns.into_iter()))
            .map_err(|source| self.staging.error(source))
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

fn write_options(compression: CompressionOptions, min_max: bool) -> WriteOptions {
    WriteOptions {
        statistics: StatisticsOptions {
            min_value: min_max,
            max_value: min_max,
            ..StatisticsOptions::default()
        },
        version: Version::V1,
        compression,
        data_page_size: None,
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
