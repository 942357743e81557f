"""Audio as bytes and files: formats and durations, where files are stored, how they are streamed.

Nothing here touches the job engine or the database: ``formats`` reads headers, ``storage``
resolves the storage ``AudioUpload.file`` uses, ``streaming`` sends a file to SlashML
without holding it in memory, ``presigned`` asks the storage for a URL SlashML can fetch,
and ``urlcheck`` decides which URLs SlashML may be asked to fetch.
"""
