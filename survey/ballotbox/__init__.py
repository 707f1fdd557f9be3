"""The sealed ballot box: while a round is open, each ballot's content is encrypted to the
round's public key and stored as one opaque row; at close the private key opens the box and the
ballots are written in random order under fresh ids.

Anyone who can read the database, its logs or its backups while a round is open sees codes
being spent and sealed rows appearing, never what anyone answered. The private key is never in
the database: the server derives it from a secret kept apart (``keys``, custody 服务器保管), or a
监票人 holds it until close (custody 监票人保管).
"""
