-- The tables as created before tenancy and API keys (commit 3a698cb), for tests/test_auth.py's upgrade test.
CREATE TABLE tp_datasets (
	id VARCHAR(32) NOT NULL, 
	name VARCHAR(500) NOT NULL, 
	format VARCHAR(16) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	n_rows INTEGER NOT NULL, 
	n_problems INTEGER NOT NULL, 
	columns_json TEXT NOT NULL, 
	mapping_json TEXT NOT NULL, 
	fingerprint VARCHAR(128), 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE tp_theme_models (
	id VARCHAR(32) NOT NULL, 
	created_at DATETIME NOT NULL, 
	model_version VARCHAR(200) NOT NULL, 
	n_comments INTEGER NOT NULL, 
	meta_json TEXT NOT NULL, 
	arrays BLOB NOT NULL, 
	report_json TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_tp_theme_models_created_at ON tp_theme_models (created_at);
CREATE TABLE tp_dataset_rows (
	dataset_id VARCHAR(32) NOT NULL, 
	row_idx INTEGER NOT NULL, 
	record_json TEXT NOT NULL, 
	problem TEXT, 
	PRIMARY KEY (dataset_id, row_idx), 
	FOREIGN KEY(dataset_id) REFERENCES tp_datasets (id) ON DELETE CASCADE
);
CREATE TABLE tp_jobs (
	id VARCHAR(32) NOT NULL, 
	dataset_id VARCHAR(32) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	total_rows INTEGER NOT NULL, 
	rows_done INTEGER NOT NULL, 
	n_errors INTEGER NOT NULL, 
	attempts INTEGER NOT NULL, 
	options_json TEXT NOT NULL, 
	message TEXT, 
	models_json TEXT NOT NULL, 
	lease_owner VARCHAR(64), 
	lease_until DATETIME, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(dataset_id) REFERENCES tp_datasets (id) ON DELETE CASCADE
);
CREATE INDEX ix_tp_jobs_status ON tp_jobs (status);
CREATE INDEX ix_tp_jobs_dataset_id ON tp_jobs (dataset_id);
CREATE TABLE tp_job_results (
	job_id VARCHAR(32) NOT NULL, 
	row_idx INTEGER NOT NULL, 
	comment_id TEXT, 
	status VARCHAR(8) NOT NULL, 
	error TEXT, 
	language VARCHAR(8), 
	language_confidence FLOAT, 
	sentiment VARCHAR(8), 
	sentiment_score FLOAT, 
	p_negative FLOAT, 
	p_neutral FLOAT, 
	p_positive FLOAT, 
	themes_json TEXT NOT NULL, 
	PRIMARY KEY (job_id, row_idx), 
	FOREIGN KEY(job_id) REFERENCES tp_jobs (id) ON DELETE CASCADE
);
CREATE TABLE tp_job_units (
	job_id VARCHAR(32) NOT NULL, 
	row_idx INTEGER NOT NULL, 
	units_json TEXT NOT NULL, 
	vectors BLOB NOT NULL, 
	PRIMARY KEY (job_id, row_idx), 
	FOREIGN KEY(job_id) REFERENCES tp_jobs (id) ON DELETE CASCADE
);
CREATE TABLE tp_job_themes (
	job_id VARCHAR(32) NOT NULL, 
	report_json TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (job_id), 
	FOREIGN KEY(job_id) REFERENCES tp_jobs (id) ON DELETE CASCADE
);
CREATE TABLE tp_job_row_themes (
	job_id VARCHAR(32) NOT NULL, 
	theme_id VARCHAR(64) NOT NULL, 
	row_idx INTEGER NOT NULL, 
	rank INTEGER NOT NULL, 
	subtheme_id VARCHAR(64), 
	confidence FLOAT NOT NULL, 
	language VARCHAR(8) NOT NULL, 
	sentiment VARCHAR(8), 
	mention_sentiment VARCHAR(8), 
	spans_json TEXT NOT NULL, 
	search_text TEXT NOT NULL, 
	PRIMARY KEY (job_id, theme_id, row_idx), 
	FOREIGN KEY(job_id) REFERENCES tp_jobs (id) ON DELETE CASCADE
);
CREATE INDEX ix_tp_job_row_themes_sub ON tp_job_row_themes (job_id, subtheme_id, row_idx);
CREATE INDEX ix_tp_job_row_themes_row ON tp_job_row_themes (job_id, row_idx);
