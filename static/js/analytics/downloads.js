/* The CSV buttons: each links to the same figures as a file, for the range and choices shown. */

import { url } from "./api.js";

export function setDownloads(state) {
  const links = {
    "csv-summary": url("summary.csv", state),
    "csv-series": url("series.csv", state, { metric: state.metric, bucket: state.bucket }),
    "csv-cells": url("cells.csv", state, { metric: state.cellMetric, how: state.how }),
    "csv-drivers": url("drivers.csv", state),
  };
  for (const [id, href] of Object.entries(links)) {
    const link = document.getElementById(id);
    if (link) link.href = href;
  }
}
