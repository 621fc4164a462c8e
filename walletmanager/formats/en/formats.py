"""One way to write a moment on every admin page: ISO dates, 24-hour times, the zone named (UTC).
Django's English default ("Nov. 26, 2026, 1:03 a.m.", no zone) made a fourth format beside the
dashboard's and the lists' ISO ones."""

DATETIME_FORMAT = "Y-m-d H:i:s T"
DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
