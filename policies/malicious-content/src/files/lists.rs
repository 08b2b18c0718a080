//! Sensitive file and directory names (after CRS `lfi-os-files.data`, `restricted-files.data`,
//! `ai-critical-artifacts.data`), matched as whole path components. Every list is sorted for
//! binary search (checked by a test), so lookups need no per-call setup.

/// Dot-files and dot-directories (first path component, leading dot kept).
#[rustfmt::skip]
pub const DOT: &[&str] = &[
    ".a0proj", ".access", ".addressbook", ".aider", ".aiignore", ".amazonq", ".anydesk",
    ".aptitude", ".ash_history", ".ashrc", ".atom", ".aws", ".aws-sam", ".azure", ".bash_history",
    ".bash_logout", ".bash_profile", ".bashrc", ".bluemix", ".boto", ".boto3", ".bowerrc", ".bun",
    ".bundle", ".bunfig.toml", ".bzr", ".cargo", ".chocolatey", ".claude", ".clawdbot", ".cline",
    ".clinerules", ".codeium", ".codex", ".composer", ".condarc", ".config.local.php", ".continue",
    ".copilot", ".coverage", ".coveralls.yml", ".cpan", ".cpanel", ".cpanplus", ".credentials",
    ".crush", ".csh_history", ".cshrc", ".cups", ".curlrc", ".cursor", ".cursorignore",
    ".cursorrules", ".cvs", ".datadog-agent", ".dbshell", ".dbus", ".deployment-secrets.txt",
    ".docker", ".dockercfg", ".dockerenv", ".drush", ".ds_store", ".env", ".envrc", ".eslintrc",
    ".fabric", ".fbcindex", ".firebaserc", ".forward", ".ftpconfig", ".gcloud", ".gem", ".gemini",
    ".gemrc", ".getdns", ".getmail", ".gftp", ".git", ".git-credentials", ".gitconfig",
    ".gitlab-ci.yml", ".gnupg", ".google_authenticator", ".gradle", ".gsutil", ".hg", ".history",
    ".htaccess", ".htdigest", ".htpasswd", ".htpasswd.bak", ".ibmcloud", ".idea",
    ".ipynb_checkpoints", ".irb_history", ".jshintrc", ".junie", ".kaggle", ".keras", ".kiro",
    ".konan", ".kotlinc_history", ".ksh_history", ".kshrc", ".kube", ".lesshst", ".lftp",
    ".lftprc", ".lhistory", ".lighttpdpassword", ".linode-cli", ".lldb-history", ".lynx_cookies",
    ".m2", ".mbsyncrc", ".minikube", ".mongodb", ".mongoshrc.js", ".msmtprc", ".my.cnf",
    ".mylogin.cnf", ".mypy_cache", ".myscmserverinfo", ".mysql_history", ".n8n", ".nano_history",
    ".ncftp", ".netlify", ".netrc", ".node-gyp", ".node_repl_history", ".npm", ".npm-global",
    ".npmrc", ".nsconfig", ".nsr", ".nvm", ".oci", ".offlineimaprc", ".opc", ".openclaw",
    ".opencode", ".openssl.cnf", ".openvpn", ".pass", ".passwd", ".password-store", ".pearrc",
    ".perl_repl_history", ".perldb", ".perlhistory", ".pg_service.conf", ".pgadmin", ".pgpass",
    ".php_cs.cache", ".php_history", ".phpcs.xml", ".phpunit.result.cache", ".pinerc", ".pip",
    ".pki", ".plandex", ".plenv", ".pm2", ".proclog", ".procmailrc", ".profile", ".psql_history",
    ".pulumi", ".pwd", ".pyenv", ".pypirc", ".pytest_cache", ".python_history", ".qwen_code",
    ".rbenv", ".rediscli_history", ".remote-sync.json", ".rhistory", ".rhosts", ".roo", ".rovodev",
    ".rustup", ".rvm", ".s3cfg", ".screenrc", ".sdkman", ".secrets", ".selected_editor",
    ".serverless", ".sh_history", ".sqlite_history", ".sqlplus_history", ".ssh", ".subversion",
    ".svn", ".tconn", ".tcsh_history", ".tcshrc", ".terraform", ".terraform.d",
    ".terraform.lock.hcl", ".terraformrc", ".thunderbird", ".tmux.conf", ".tor", ".travis.yaml",
    ".travis.yml", ".trustclaw", ".unbound", ".user.ini", ".usermin", ".vagrant", ".vagrant.d",
    ".vercel", ".vidalia", ".viminfo", ".vimrc", ".vmware", ".vscode", ".warp", ".web.config.swp",
    ".wget-hsts", ".wgetrc", ".windsurf", ".windsurfrules", ".wine", ".wp-cli", ".ws_ftp.ini",
    ".www_acl", ".wwwacl", ".xauthority", ".yarnrc", ".yarnrc.yml", ".zed", ".zeroclaw",
    ".zhistory", ".zsh_history", ".zshenv", ".zshrc",
];

/// Dot entries that hold credentials or source: denied even as a bare request path.
#[rustfmt::skip]
pub const DOT_SECRET: &[&str] = &[
    ".aider", ".amazonq", ".aws", ".aws-sam", ".azure", ".bash_history", ".boto", ".bzr",
    ".claude", ".cline", ".codex", ".continue", ".credentials", ".cursor", ".docker", ".dockercfg",
    ".dockerenv", ".ds_store", ".env", ".envrc", ".gcloud", ".gemini", ".git", ".git-credentials",
    ".gitconfig", ".gnupg", ".google_authenticator", ".hg", ".htaccess", ".htdigest", ".htpasswd",
    ".kiro", ".kube", ".my.cnf", ".mylogin.cnf", ".mysql_history", ".n8n", ".netrc", ".npmrc",
    ".oci", ".opencode", ".password-store", ".pgpass", ".php_history", ".plandex", ".psql_history",
    ".pulumi", ".pypirc", ".python_history", ".rhosts", ".roo", ".s3cfg", ".secrets",
    ".serverless", ".sh_history", ".ssh", ".svn", ".terraform", ".terraformrc", ".windsurf",
    ".xauthority", ".zed", ".zsh_history",
];

/// Entries under `etc/`.
#[rustfmt::skip]
pub const ETC: &[&str] = &[
    ".java", "aliases", "anacrontab", "ansible", "apache", "apache2", "apparmor", "audit",
    "bash.bashrc", "bashrc", "ca-certificates", "centos-release", "cron.allow", "cron.d",
    "cron.daily", "cron.deny", "cron.hourly", "cron.monthly", "cron.weekly", "crontab", "crypttab",
    "debian_version", "default", "docker", "dovecot", "elasticsearch", "environment", "exports",
    "fail2ban", "fstab", "ftpusers", "gitlab", "group", "group-", "gshadow", "haproxy", "hostname",
    "hosts", "httpd", "inetd.conf", "init.d", "inittab", "iptables", "issue", "issue.net", "java",
    "kafka", "kibana", "krb5.conf", "krb5.keytab", "kubernetes", "ld.so.conf", "ld.so.preload",
    "ldap.conf", "letsencrypt", "lighttpd", "localtime", "login.defs", "logrotate.conf",
    "logrotate.d", "lsb-release", "machine-id", "mail", "master.passwd", "modprobe.d",
    "modsecurity", "mongod.conf", "motd", "mtab", "my.cnf", "mysql", "netplan", "network",
    "networks", "nginx", "nsswitch.conf", "openldap", "openvpn", "os-release", "pam.conf", "pam.d",
    "passwd", "passwd-", "php", "pki", "postfix", "postgresql", "ppp", "profile", "proftpd",
    "proftpd.conf", "pure-ftpd", "rc.d", "rc.local", "redhat-release", "redis", "redis.conf",
    "resolv.conf", "rsyslog.conf", "samba", "security", "selinux", "shadow", "shadow-", "shells",
    "skel", "smb.conf", "smbpasswd", "snmp", "squid", "ssh", "ssl", "subgid", "subuid", "sudoers",
    "sudoers.d", "supervisor", "supervisord.conf", "sysconfig", "sysctl.conf", "syslog.conf",
    "system-release", "systemd", "termcap", "timezone", "tinyproxy", "tomcat", "tor", "ufw",
    "vsftpd.conf", "webmin", "wireguard", "wpa_supplicant", "xinetd.d",
];

/// Entries under `proc/` (numeric pids are matched separately).
#[rustfmt::skip]
pub const PROC: &[&str] = &[
    "acpi", "asound", "bootconfig", "buddyinfo", "bus", "cgroups", "cmdline", "config.gz",
    "consoles", "cpuinfo", "crypto", "devices", "diskstats", "dma", "docker", "driver", "environ",
    "execdomains", "fb", "filesystems", "fs", "interrupts", "iomem", "ioports", "irq", "kallsyms",
    "kcore", "key-users", "keys", "kmsg", "latency_stats", "loadavg", "locks", "mdstat", "meminfo",
    "misc", "modules", "mounts", "mtrr", "net", "pagetypeinfo", "partitions", "pressure",
    "sched_debug", "schedstat", "scsi", "self", "slabinfo", "softirqs", "stat", "status", "swaps",
    "sys", "sysrq-trigger", "sysvipc", "thread-self", "timer_list", "tty", "uptime", "version",
    "vmallocinfo", "vmstat", "zoneinfo",
];

/// Entries under `sys/`.
#[rustfmt::skip]
pub const SYS: &[&str] = &[
    "block", "bus", "class", "dev", "devices", "firmware", "fs", "hypervisor", "kernel", "module",
    "power",
];

/// File names sensitive wherever they appear in a path.
#[rustfmt::skip]
pub const NAMES: &[&str] = &[
    "authorized_keys", "autoexec.bat", "aws-key.yaml", "aws-key.yml", "aws.yaml", "aws.yml",
    "boot.ini", "config.inc.php", "configuration.php", "credentials.json", "database.yaml",
    "database.yml", "debian.cnf", "default.settings.php", "env.php", "ftp-sync.json", "gitlab.rb",
    "htpasswd", "id_dsa", "id_ecdsa", "id_ed25519", "id_rsa", "initial_root_password",
    "known_hosts", "local.xml", "localsettings.php", "my.cnf", "mysql.cnf", "mysqldump.cnf",
    "ntds.dit", "parameters.yml", "php_error.log", "php_errors.log", "phpinfo.php", "secrets.json",
    "secrets.yaml", "secrets.yml", "sendgrid.env", "settings.local.php", "settings.php",
    "sftp.json", "system.ini", "user_secrets.yml", "web.config", "win.ini", "wp-config.php",
];

/// Project / build / log files that should never be served (request path only).
#[rustfmt::skip]
pub const PATH_NAMES: &[&str] = &[
    "auth.json", "bower.json", "cargo.toml", "compose.yaml", "compose.yml", "composer.json",
    "composer.lock", "config-dev.asp", "config-dev.ini", "config-dev.json", "config-dev.php",
    "config-dev.pl", "config-dev.py", "config-dev.rb", "config-dev.toml", "config-dev.txt",
    "config-dev.xml", "config-dev.yaml", "config-dev.yml", "config-prod.asp", "config-prod.ini",
    "config-prod.json", "config-prod.php", "config-prod.pl", "config-prod.py", "config-prod.rb",
    "config-prod.toml", "config-prod.txt", "config-prod.xml", "config-prod.yaml",
    "config-prod.yml", "config-sample.asp", "config-sample.ini", "config-sample.json",
    "config-sample.php", "config-sample.pl", "config-sample.py", "config-sample.rb",
    "config-sample.toml", "config-sample.txt", "config-sample.xml", "config-sample.yaml",
    "config-sample.yml", "config-test.asp", "config-test.ini", "config-test.json",
    "config-test.php", "config-test.pl", "config-test.py", "config-test.rb", "config-test.toml",
    "config-test.txt", "config-test.xml", "config-test.yaml", "config-test.yml", "config.asp",
    "config.dev.asp", "config.dev.ini", "config.dev.json", "config.dev.php", "config.dev.pl",
    "config.dev.py", "config.dev.rb", "config.dev.toml", "config.dev.txt", "config.dev.xml",
    "config.dev.yaml", "config.dev.yml", "config.fish", "config.ini", "config.json", "config.nu",
    "config.php", "config.pl", "config.prod.asp", "config.prod.ini", "config.prod.json",
    "config.prod.php", "config.prod.pl", "config.prod.py", "config.prod.rb", "config.prod.toml",
    "config.prod.txt", "config.prod.xml", "config.prod.yaml", "config.prod.yml", "config.py",
    "config.rb", "config.sample.asp", "config.sample.ini", "config.sample.json",
    "config.sample.php", "config.sample.pl", "config.sample.py", "config.sample.rb",
    "config.sample.toml", "config.sample.txt", "config.sample.xml", "config.sample.yaml",
    "config.sample.yml", "config.test.asp", "config.test.ini", "config.test.json",
    "config.test.php", "config.test.pl", "config.test.py", "config.test.rb", "config.test.toml",
    "config.test.txt", "config.test.xml", "config.test.yaml", "config.test.yml", "config.toml",
    "config.txt", "config.xml", "config.yaml", "config.yml", "config_dev.asp", "config_dev.ini",
    "config_dev.json", "config_dev.php", "config_dev.pl", "config_dev.py", "config_dev.rb",
    "config_dev.toml", "config_dev.txt", "config_dev.xml", "config_dev.yaml", "config_dev.yml",
    "config_prod.asp", "config_prod.ini", "config_prod.json", "config_prod.php", "config_prod.pl",
    "config_prod.py", "config_prod.rb", "config_prod.toml", "config_prod.txt", "config_prod.xml",
    "config_prod.yaml", "config_prod.yml", "config_sample.asp", "config_sample.ini",
    "config_sample.json", "config_sample.php", "config_sample.pl", "config_sample.py",
    "config_sample.rb", "config_sample.toml", "config_sample.txt", "config_sample.xml",
    "config_sample.yaml", "config_sample.yml", "config_test.asp", "config_test.ini",
    "config_test.json", "config_test.php", "config_test.pl", "config_test.py", "config_test.rb",
    "config_test.toml", "config_test.txt", "config_test.xml", "config_test.yaml",
    "config_test.yml", "coverage.xml", "debug.log", "desktop.ini", "docker-compose.yaml",
    "docker-compose.yml", "dockerfile", "error.log", "errors.log", "fish_variables", "go.mod",
    "go.sum", "gruntfile.js", "login.sql", "npm-debug.log", "npm-shrinkwrap.json",
    "package-lock.json", "package.json", "php.ini", "phpcs.xml", "phpcs.xml.dist", "pm2.log",
    "pyproject.toml", "pytest.ini", "routing.yml", "rsync.log", "security.yml", "services.yml",
    "setup.py", "thumbs.db", "weblogic.xml", "webpack.config.js", "yarn-debug.log",
    "yarn-error.log", "yarn.lock",
];

/// Whether `list` (sorted) contains `name`.
pub fn has(list: &[&str], name: &str) -> bool {
    list.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted() {
        for l in [DOT, DOT_SECRET, ETC, PROC, SYS, NAMES, PATH_NAMES] {
            assert!(l.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
