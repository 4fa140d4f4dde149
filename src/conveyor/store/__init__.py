"""Where Conveyor keeps what runs leave behind: the metadata store and the artifact store."""
