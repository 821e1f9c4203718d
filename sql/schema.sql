-- trendflow's schema. `trendflow db init` applies it; every statement is idempotent.
--
-- The first three tables are the seed's, with its names, columns and types, so the seed's dump
-- loads into them unchanged. trendflow's additions to them (the parsed event time, author,
-- retweet and ingestion-time columns, and an index on the event time) are nullable columns added
-- by `db init`, which also widens `tweets.tweet` to MEDIUMTEXT (long posts exceed TEXT's 64 KiB)
-- and upgrades a database the seed's dump was loaded into with the mysql client.

CREATE TABLE IF NOT EXISTS `hashtags` (
  `hashtag_id` bigint(20) NOT NULL,
  `hashtag` varchar(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL,
  PRIMARY KEY (`hashtag_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `tweets` (
  `tweet_id` bigint(20) NOT NULL,
  `tweet` text CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL,
  `date_time` varchar(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL,
  `language` varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL,
  PRIMARY KEY (`tweet_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `tweet_hashtags` (
  `tweet_id` bigint(20) NOT NULL,
  `hashtag_id` bigint(20) NOT NULL,
  `count` int(11) DEFAULT NULL,
  PRIMARY KEY (`tweet_id`, `hashtag_id`),
  KEY `hashtag_id` (`hashtag_id`),
  CONSTRAINT `tweet_hashtags_ibfk_1` FOREIGN KEY (`tweet_id`) REFERENCES `tweets` (`tweet_id`) ON DELETE CASCADE,
  CONSTRAINT `tweet_hashtags_ibfk_2` FOREIGN KEY (`hashtag_id`) REFERENCES `hashtags` (`hashtag_id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Final rankings, one row per rank, per layer ('batch' or 'speed'), window spec and window end.
CREATE TABLE IF NOT EXISTS `view_top_hashtags` (
  `layer` varchar(8) NOT NULL,
  `window_spec` varchar(32) NOT NULL,
  `window_end_ms` bigint(20) NOT NULL,
  `position` int(11) NOT NULL,
  `hashtag` varchar(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  `count` bigint(20) NOT NULL,
  PRIMARY KEY (`layer`, `window_spec`, `window_end_ms`, `position`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `view_top_tweets` (
  `layer` varchar(8) NOT NULL,
  `window_spec` varchar(32) NOT NULL,
  `window_end_ms` bigint(20) NOT NULL,
  `position` int(11) NOT NULL,
  `tweet_id` bigint(20) NOT NULL,
  `retweets` bigint(20) NOT NULL,
  `hashtags` bigint(20) NOT NULL,
  PRIMARY KEY (`layer`, `window_spec`, `window_end_ms`, `position`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `view_languages` (
  `layer` varchar(8) NOT NULL,
  `window_spec` varchar(32) NOT NULL,
  `window_end_ms` bigint(20) NOT NULL,
  `position` int(11) NOT NULL,
  `language` varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  `count` bigint(20) NOT NULL,
  PRIMARY KEY (`layer`, `window_spec`, `window_end_ms`, `position`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Trending hashtags (see docs/guide/views.md): occurrences in the window and in
-- its baseline, the expected count and the score, as the graph computed them (DOUBLE keeps every
-- bit of an f64); `partial_baseline` is 1 when the baseline starts before the input's first tweet.
CREATE TABLE IF NOT EXISTS `view_trending_hashtags` (
  `layer` varchar(8) NOT NULL,
  `window_spec` varchar(32) NOT NULL,
  `window_end_ms` bigint(20) NOT NULL,
  `position` int(11) NOT NULL,
  `hashtag` varchar(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  `count` bigint(20) NOT NULL,
  `baseline` bigint(20) NOT NULL,
  `expected` double NOT NULL,
  `score` double NOT NULL,
  `partial_baseline` tinyint(1) NOT NULL,
  PRIMARY KEY (`layer`, `window_spec`, `window_end_ms`, `position`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per window spec per complete batch run, written after every view row of the run and
-- in one transaction: `boundary_ms` is the latest window end the run covered (no later than its
-- newest tweet). The serving layer answers windows ending at or before the latest run's boundary
-- from the batch layer, later ones from the speed layer. A run that fails writes no row, so the
-- boundary never moves on a half-written run.
CREATE TABLE IF NOT EXISTS `batch_runs` (
  `run_id` bigint(20) NOT NULL AUTO_INCREMENT,
  `window_spec` varchar(32) NOT NULL,
  `boundary_ms` bigint(20) NOT NULL,
  `finished_at_ms` bigint(20) NOT NULL,
  `tweets_read` bigint(20) NOT NULL,
  PRIMARY KEY (`run_id`),
  KEY `batch_runs_by_spec` (`window_spec`, `run_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Where a restarted `stream` reads each partition of its topic again from: every tweet from
-- `rebuild_from_ms` on is at or after `next_offset`, and every window that starts before it has
-- been written. Every message before `handled_to` has been archived, dead-lettered and its
-- hashtags published: reading it again only feeds the graph. `consumer` names the views the
-- stream computes (window specs, top K and the trending view's settings), as JSON; ASCII, so that
-- the name and the topic fit in the primary key.
CREATE TABLE IF NOT EXISTS `source_offsets` (
  `consumer` varchar(1024) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  `topic` varchar(249) NOT NULL,
  `kafka_partition` int(11) NOT NULL,
  `next_offset` bigint(20) NOT NULL,
  `handled_to` bigint(20) DEFAULT NULL,
  `rebuild_from_ms` bigint(20) NOT NULL,
  PRIMARY KEY (`consumer`, `topic`, `kafka_partition`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- How far each process of a stream has written its rankings: all of those before
-- `published_before_ms`. A position is stored only once every process has written its windows.
CREATE TABLE IF NOT EXISTS `stream_progress` (
  `consumer` varchar(1024) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  `topic` varchar(249) NOT NULL,
  `process` int(11) NOT NULL,
  `published_before_ms` bigint(20) NOT NULL,
  PRIMARY KEY (`consumer`, `topic`, `process`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- That a stream runs: each process of each stream beats every second while it runs, on the
-- server's own clock (`beat_ms`, so that no host's clock is compared with another's), and says
-- `stopped` when it ends cleanly. The serving layer shows the open window only while the speed
-- layer beats; a stream killed, or cut off, stops beating and its open window is no longer shown.
CREATE TABLE IF NOT EXISTS `stream_heartbeats` (
  `consumer` varchar(1024) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  `process` int(11) NOT NULL,
  `beat_ms` bigint(20) NOT NULL,
  `stopped` tinyint(1) NOT NULL,
  PRIMARY KEY (`consumer`, `process`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Where change capture (`produce --follow`) resumes the binary log: per topic it sends to, the
-- position after the last transaction whose tweets the broker has confirmed.
CREATE TABLE IF NOT EXISTS `capture_positions` (
  `topic` varchar(249) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  `binlog_file` varchar(255) NOT NULL,
  `binlog_position` bigint(20) NOT NULL,
  `stored_ms` bigint(20) NOT NULL,
  PRIMARY KEY (`topic`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
