"""The batch layer's hashtag and language views in Spark, for bench/src/bin/spark.rs.

Reads tweets from a CSV file (tweet_id, text, created_at_ms, language, with a header), computes for
each window spec the top-K hashtags per window (ties by hashtag) and the tweets per language per
window, the way the seed's Spark jobs did, and writes the top hashtags as JSON lines: window length
and end in milliseconds, rank, hashtag, count. Prints one JSON object: the seconds the Spark session
took to start and the seconds the job took after that.

  python views.py --input tweets.csv --output top.jsonl --window 300000/60000 --top 10

Hashtags: '#' or '＃' and a run of Unicode word characters, lower-cased (close to, not exactly,
trendflow's extraction rules).
"""

import argparse
import json
import time

started = time.monotonic()

from pyspark.sql import SparkSession, Window  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--window", action="append", required=True, help="LENGTH_MS/SLIDE_MS")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()

    spark = (
        SparkSession.builder.master(args.master)
        .appName("trendflow-bench-views")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    session_seconds = time.monotonic() - started

    job_started = time.monotonic()
    tweets = spark.read.csv(
        args.input,
        header=True,
        schema="tweet_id LONG, text STRING, created_at_ms LONG, language STRING",
        multiLine=True,
        escape='"',
    ).withColumn("at", F.timestamp_millis("created_at_ms"))
    tweets.cache()
    hashtags = tweets.select(
        "at", F.explode(F.expr(r"regexp_extract_all(lower(text), '(?U)[#＃](\\w+)', 1)")).alias("hashtag")
    )
    rows = []
    languages = 0
    for spec in args.window:
        length_ms, slide_ms = (int(part) for part in spec.split("/"))
        window = F.window("at", f"{length_ms // 1000} seconds", f"{slide_ms // 1000} seconds").alias("w")
        counts = hashtags.groupBy(window, "hashtag").count()
        rank = Window.partitionBy("w").orderBy(F.desc("count"), "hashtag")
        top = counts.withColumn("rank", F.row_number().over(rank)).filter(F.col("rank") <= args.top)
        for row in top.select(F.unix_millis(F.col("w.end")).alias("end"), "rank", "hashtag", "count").collect():
            rows.append({"length_ms": length_ms, "end_ms": row["end"], "rank": row["rank"],
                         "hashtag": row["hashtag"], "count": row["count"]})
        languages += tweets.groupBy(window, "language").count().count()
    job_seconds = time.monotonic() - job_started

    with open(args.output, "w", encoding="utf-8") as output:
        for row in rows:
            output.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(json.dumps({"session_seconds": session_seconds, "job_seconds": job_seconds,
                      "top_rows": len(rows), "language_rows": languages}))
    spark.stop()


if __name__ == "__main__":
    main()
