"""Batch scoring of comment dumps: file formats, ingestion, chunked resumable scoring, reports, job worker."""
