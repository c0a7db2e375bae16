#!/usr/bin/perl
# Writes a tiny MaxMind-format database for the risk tests, with MaxMind's own writer (Debian
# libmaxmind-db-writer-perl). Usage: write_mmdb.pl OUT.mmdb < spec.json, where the spec is
#   {"database_type": "...", "build_epoch": N, "types": {"key": "map|utf8_string|double|uint16|uint32"},
#    "networks": [{"network": "192.0.2.0/24", "data": {...}}]}
# Only documentation ranges go in (reserved-network removal is off for that reason).
use strict;
use warnings;
use JSON::PP;
use MaxMind::DB::Writer::Tree;

my $out = shift @ARGV or die "usage: write_mmdb.pl OUT.mmdb < spec.json\n";
my $spec = decode_json(do { local $/; <STDIN> });
my %types = %{ $spec->{types} };
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 24,
    database_type            => $spec->{database_type},
    languages                => ['en'],
    description              => { en => 'Watchword test fixture' },
    remove_reserved_networks => 0,
    map_key_type_callback    => sub {
        my $key = shift;
        return $types{$key} // die "no type for key $key\n";
    },
);
$tree->_set_build_epoch($spec->{build_epoch}) if defined $spec->{build_epoch};
for my $n (@{ $spec->{networks} }) {
    $tree->insert_network($n->{network}, $n->{data});
}
open my $fh, '>:raw', $out or die "cannot write $out: $!\n";
$tree->write_tree($fh);
close $fh or die "cannot close $out: $!\n";
