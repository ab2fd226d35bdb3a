package io.usertcp;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The library starts no programs: the TAP setup talks netlink to the kernel instead of running {@code ip}, so it
 * works in images without iproute2 (distroless, slim JREs). {@code link.KernelSideTest} proves the same at run
 * time with a PATH that holds no {@code ip}.
 */
class NoShellOutTest {

    @Test
    void noMainClassStartsAProcess() {
        JavaClasses classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.usertcp");
        noClasses().should().dependOnClassesThat().haveFullyQualifiedName(ProcessBuilder.class.getName())
                .orShould().callMethod(Runtime.class, "exec", String.class)
                .orShould().callMethod(Runtime.class, "exec", String[].class)
                .because("the library must not need iproute2 or any other program")
                .check(classes);
    }
}
